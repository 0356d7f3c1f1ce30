package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metering.aggregator.AggregatorService;
import dev.metering.avro.Rollup;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.ingest.auth.FrontierCredential;
import dev.metering.ingest.auth.KindeJwtSettings;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Frontier's RevertBillingUsage and CreateBillingUsage's duplicate answer on each route, on a real broker with the real
 * aggregator (one of each for the class): every verdict is the HTTP answer in the route's shape, a retry with the same
 * Idempotency-Key is applied once, and a request repeating an applied usage gets 409 while its new usages count.
 * Refusals that need no broker are {@link FrontierRoutesTest}'s part.
 */
class FrontierRevertIT {
    private static final String AUTH = "Basic " + Base64.getEncoder().encodeToString("app:secret".getBytes(StandardCharsets.UTF_8));

    private static EmbeddedKafka kafka;
    private static String registryUrl;
    private static Path stateDir;
    private static AggregatorService aggregator;
    private static IngestApi api;
    /** Waits not at all for duplicate verdicts: answers as if the aggregator were down or behind. */
    private static IngestApi impatient;

    /** A Frontier route family: where create and revert go and how errors look. */
    enum Route {
        PATH_FORM, BODY_FORM, CONNECT;

        String createPath(String org, String billing) {
            return switch (this) {
                case PATH_FORM -> "/v1beta1/organizations/" + org + "/billing/" + billing + "/usages";
                case BODY_FORM -> "/v1beta1/organizations/billing/usages";
                case CONNECT -> "/raystack.frontier.v1beta1.FrontierService/CreateBillingUsage";
            };
        }

        String createBody(String org, String billing, String usages) {
            return this == PATH_FORM ? "{\"usages\": [" + usages + "]}"
                    : "{\"org_id\": \"" + org + "\", \"billing_id\": \"" + billing + "\", \"usages\": [" + usages + "]}";
        }

        String revertPath(String org, String billing, String usage) {
            return switch (this) {
                case PATH_FORM -> "/v1beta1/admin/organizations/" + org + "/billing/" + billing + "/usage/" + usage + "/revert";
                case BODY_FORM -> "/v1beta1/organizations/billing/usages/revert";
                case CONNECT -> "/raystack.frontier.v1beta1.AdminService/RevertBillingUsage";
            };
        }

        String revertBody(String org, String billing, String usage, String amount) {
            // protojson's int64 as a string on the REST routes, a JSON number over Connect: both are accepted
            return this == PATH_FORM ? "{\"amount\": \"" + amount + "\"}"
                    : "{\"orgId\": \"" + org + "\", \"billingId\": \"" + billing + "\", \"usageId\": \"" + usage + "\", \"amount\": " + amount + "}";
        }

        /** The error's code as this route writes it: grpc-gateway's number on REST, Connect's name on Connect. */
        String code(JsonNode body) {
            return this == CONNECT ? body.get("code").asText() : switch (body.get("code").asInt()) {
                case 3 -> "invalid_argument";
                case 6 -> "already_exists";
                case 14 -> "unavailable";
                default -> "grpc " + body.get("code").asInt();
            };
        }
    }

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start();
        registryUrl = "mem://frontier-revert-it-" + UUID.randomUUID();
        stateDir = Files.createTempDirectory("frontier-revert-it");
        aggregator = startAggregator();
        IngestApiConfig config = IngestApiConfig.defaults(kafka.bootstrapServers(), registryUrl)
                .withHttp("127.0.0.1", 0)
                .withCredentials(List.of(new FrontierCredential("app", "secret", Set.of("org-a", "org-b", "org-c"))), KindeJwtSettings.DISABLED, List.of());
        api = new IngestApi(config.withVerdictWaits(Duration.ofSeconds(3), Duration.ofSeconds(3))).start();
        // No duplicate check, and a short wait for revert verdicts (the test with the aggregator down waits it out).
        impatient = new IngestApi(config.withVerdictWaits(Duration.ofSeconds(1), Duration.ZERO)).start();
        api.verdicts().reading().get(60, TimeUnit.SECONDS);
        impatient.verdicts().reading().get(60, TimeUnit.SECONDS);
    }

    private static AggregatorService startAggregator() {
        return VerdictAggregator.start(kafka, registryUrl, "frontier-revert-it", stateDir);
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable closeable : new AutoCloseable[] {api, impatient, aggregator, kafka}) {
            try {
                if (closeable != null) {
                    closeable.close();
                }
            } catch (Exception e) {
                // keep closing the rest
            }
        }
    }

    private static IngestFixture.Response post(IngestApi target, String path, String body, String... headers) {
        String[] withAuth = new String[headers.length + 2];
        withAuth[0] = "Authorization";
        withAuth[1] = AUTH;
        System.arraycopy(headers, 0, withAuth, 2, headers.length);
        return IngestFixture.post(target, path, body, withAuth);
    }

    private static String usage(String id, int amount) {
        return "{\"id\": \"" + id + "\", \"source\": \"model_runs\", \"amount\": " + amount + "}";
    }

    private static IngestFixture.Response create(IngestApi target, Route route, String org, String billing, String... usages) {
        return post(target, route.createPath(org, billing), route.createBody(org, billing, String.join(", ", usages)));
    }

    private static IngestFixture.Response revert(IngestApi target, Route route, String org, String billing, String usage, String amount, String key) {
        String path = route.revertPath(org, billing, usage);
        String body = route.revertBody(org, billing, usage, amount);
        return key == null ? post(target, path, body) : post(target, path, body, "Idempotency-Key", key);
    }

    private static IngestFixture.Response revert(Route route, String org, String billing, String usage, String amount, String key) {
        return revert(api, route, org, billing, usage, amount, key);
    }

    private static void assertError(Route route, IngestFixture.Response answer, int status, String code, String message) {
        assertThat(answer.status()).as(answer.body()).isEqualTo(status);
        assertThat(route.code(answer.json())).isEqualTo(code);
        assertThat(answer.json().get("message").asText()).contains(message);
        assertThat(answer.json().has("details")).as("grpc-gateway's shape on REST only").isEqualTo(route != Route.CONNECT);
    }

    @ParameterizedTest
    @EnumSource(Route.class)
    void everyRevertVerdictIsTheAnswerInTheRoutesShape(Route route) {
        String org = "org-a";
        String billing = "acct-" + route.name().toLowerCase();
        assertThat(create(api, route, org, billing, usage("u-1", 10)).status()).isEqualTo(200);

        IngestFixture.Response applied = revert(route, org, billing, "u-1", "4", "r-1");
        assertThat(applied.status()).as(applied.body()).isEqualTo(200);
        assertThat(applied.json().isObject() && applied.json().isEmpty()).as("Frontier's empty response").isTrue();

        assertError(route, revert(route, org, billing, "u-1", "7", "r-2"), 400, "invalid_argument", "revert amount is greater than the usage amount");
        assertError(route, revert(route, org, billing, "nope", "1", "r-3"), 400, "invalid_argument", "REVERT_UNKNOWN_USAGE");
        assertError(route, revert(route, org, "acct-elsewhere", "u-1", "1", "r-4-" + route), 400, "invalid_argument", "REVERT_UNKNOWN_USAGE");
        assertError(route, revert(route, org, billing, "r-1", "1", "r-5"), 409, "already_exists", "REVERT_OF_REVERT");

        IngestFixture.Response retried = revert(route, org, billing, "u-1", "4", "r-1");
        assertThat(retried.status()).as("the same key: the same revert, the same verdict").isEqualTo(200);
        assertError(route, revert(route, org, billing, "u-1", "7", "r-2"), 400, "invalid_argument", "revert amount is greater than the usage amount");

        // Without Idempotency-Key each call is a new revert, as in Frontier: two identical calls take back 2 + 2.
        assertThat(revert(route, org, billing, "u-1", "2", null).status()).isEqualTo(200);
        assertThat(revert(route, org, billing, "u-1", "2", null).status()).isEqualTo(200);
        // 4 (once, despite the retry) + 2 + 2 reverted: 2 remain.
        assertError(route, revert(route, org, billing, "u-1", "3", "r-probe"), 400, "invalid_argument", "revert amount is greater than the usage amount");
        assertThat(revert(route, org, billing, "u-1", "2", "r-rest").status()).isEqualTo(200);

        Rollup hour = awaitRollup(org, billing, new BigDecimal("10"));
        assertThat(hour.getQuantitySum()).isEqualByComparingTo("0");
        assertThat(hour.getRevertCount()).isEqualTo(4);
    }

    @Test
    void withoutAVerdictInTimeTheAnswerIs503AndARetryWithTheSameKeyIsAppliedOnce() {
        String org = "org-b";
        for (Route route : Route.values()) {
            assertThat(create(api, route, org, "acct-" + route, usage("u-1", 10)).status()).isEqualTo(200);
        }
        aggregator.close();
        try {
            for (Route route : Route.values()) {
                IngestFixture.Response noVerdict = revert(impatient, route, org, "acct-" + route, "u-1", "3", "r-down");
                assertError(route, noVerdict, 503, "unavailable", "retry with the same idempotency key");
                assertThat(noVerdict.header("Retry-After")).isNotBlank();
            }
        } finally {
            aggregator = startAggregator();
        }
        for (Route route : Route.values()) {
            String billing = "acct-" + route;
            IngestFixture.Response retried;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            do { // 503 while the restarted aggregator takes its partitions, as a client would see it
                retried = revert(route, org, billing, "u-1", "3", "r-down");
            } while (retried.status() == 503 && System.nanoTime() < deadline);
            assertThat(retried.status()).as(retried.body()).isEqualTo(200);
            // applied once: 7 remain
            assertError(route, revert(route, org, billing, "u-1", "8", "r-probe"), 400, "invalid_argument", "revert amount is greater than the usage amount");
            assertThat(revert(route, org, billing, "u-1", "7", "r-rest").status()).isEqualTo(200);
        }
    }

    @ParameterizedTest
    @EnumSource(Route.class)
    void aRequestRepeatingAnAppliedUsageGets409AndItsNewUsagesCount(Route route) {
        String org = "org-c";
        String billing = "acct-" + route.name().toLowerCase();
        assertThat(create(api, route, org, billing, usage("u-1", 5)).status()).isEqualTo(200);

        IngestFixture.Response mixed = create(api, route, org, billing, usage("u-1", 5), usage("u-2", 3));
        assertError(route, mixed, 409, "already_exists", "usage already exists: 'u-1'");
        assertThat(mixed.json().get("message").asText()).contains("1 other usage of this request was applied");
        assertError(route, create(api, route, org, billing, usage("u-1", 5), usage("u-2", 3)), 409, "already_exists", "'u-1', 'u-2' were applied before");

        // Without the aggregator's verdicts in time the answer is 200, as before; the aggregator still counts u-3 once.
        assertThat(create(impatient, route, org, billing, usage("u-3", 2)).status()).isEqualTo(200);
        assertThat(create(impatient, route, org, billing, usage("u-3", 2)).status()).isEqualTo(200);

        // u-2 was applied by the mixed request: it can be reverted in full.
        assertThat(revert(route, org, billing, "u-2", "3", "r-u2").status()).isEqualTo(200);
        Rollup hour = awaitRollup(org, billing, new BigDecimal("3"));
        assertThat(hour.getQuantitySum()).as("5 + 3 + 2, each once, net of the 3 reverted").isEqualByComparingTo("7");
        assertThat(hour.getEventCount()).isEqualTo(3);
    }

    private static Rollup awaitRollup(String org, String account, BigDecimal reverted) {
        return VerdictAggregator.awaitRollup(kafka, registryUrl, org, account, reverted);
    }
}
