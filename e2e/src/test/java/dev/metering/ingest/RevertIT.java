package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.aggregator.AggregatorService;
import dev.metering.avro.Rollup;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.ops.auth.ApiKey;
import dev.metering.ingest.auth.KindeJwtSettings;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The native revert endpoint on a real broker with the real aggregator: the HTTP answer is the aggregator's verdict,
 * a retry with the same Idempotency-Key is applied once, concurrent partial reverts never exceed the usage, and without
 * an aggregator the answer is 503 with Retry-After.
 */
class RevertIT {
    private static final String KEY = "revert-key";

    private static EmbeddedKafka kafka;
    private static String registryUrl;
    private static Path stateDir;
    private static AggregatorService aggregator;
    private static IngestApi api;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start();
        registryUrl = "mem://revert-it-" + UUID.randomUUID();
        stateDir = Files.createTempDirectory("revert-it");
        aggregator = startAggregator();
        api = new IngestApi(IngestApiConfig.defaults(kafka.bootstrapServers(), registryUrl)
                .withHttp("127.0.0.1", 0)
                .withCredentials(List.of(), KindeJwtSettings.DISABLED, List.of(new ApiKey("tests", KEY)))
                .withVerdictWaits(Duration.ofSeconds(3), Duration.ofSeconds(1))).start();
        api.verdicts().reading().get(60, TimeUnit.SECONDS);
    }

    private static AggregatorService startAggregator() {
        return VerdictAggregator.start(kafka, registryUrl, "revert-it", stateDir);
    }

    @AfterAll
    static void stop() {
        if (api != null) {
            api.close();
        }
        if (aggregator != null) {
            aggregator.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    private static IngestFixture.Response post(String path, String body, String... headers) {
        String[] withKey = new String[headers.length + 2];
        withKey[0] = "X-Api-Key";
        withKey[1] = KEY;
        System.arraycopy(headers, 0, withKey, 2, headers.length);
        return IngestFixture.post(api, path, body, withKey);
    }

    private static void usage(String account, String id, String quantity) {
        IngestFixture.Response answer = post("/v1/events:batch", "{\"events\": [{\"event_id\": \"" + id + "\", \"billing_account_id\": \"" + account
                + "\", \"feature_code\": \"api\", \"quantity\": " + quantity + "}]}");
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.json().get("accepted").asInt()).isEqualTo(1);
    }

    private static IngestFixture.Response revert(String account, String usageId, String amount, String idempotencyKey) {
        return post("/v1/events:revert", "{\"billing_account_id\": \"" + account + "\", \"event_id\": \"" + usageId + "\", \"amount\": \""
                + amount + "\"}", "Idempotency-Key", idempotencyKey);
    }

    @Test
    void everyVerdictIsTheHttpAnswerAndTheRollupIsNetOfTheAppliedReverts() {
        String account = "acct-verdicts";
        usage(account, "u-1", "10");

        IngestFixture.Response applied = revert(account, "u-1", "4", "r-1");
        assertThat(applied.status()).isEqualTo(200);
        assertThat(applied.json().get("status").asText()).isEqualTo("applied");
        assertThat(applied.json().get("detail").asText()).contains("6 of 10 remains");

        IngestFixture.Response exceeding = revert(account, "u-1", "6.000000000001", "r-2");
        assertThat(exceeding.status()).isEqualTo(400);
        assertThat(exceeding.json().get("code").asText()).isEqualTo("INVALID_ARGUMENT");
        assertThat(exceeding.json().get("message").asText()).startsWith("REVERT_EXCEEDS_USAGE");

        IngestFixture.Response unknown = revert(account, "nope", "1", "r-3");
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.json().get("message").asText()).startsWith("REVERT_UNKNOWN_USAGE");

        IngestFixture.Response ofRevert = revert(account, "r-1", "1", "r-4");
        assertThat(ofRevert.status()).isEqualTo(409);
        assertThat(ofRevert.json().get("code").asText()).isEqualTo("ALREADY_EXISTS");
        assertThat(ofRevert.json().get("message").asText()).startsWith("REVERT_OF_REVERT");

        IngestFixture.Response retried = revert(account, "u-1", "4", "r-1");
        assertThat(retried.status()).as("a retry gets the same verdict").isEqualTo(200);
        assertThat(retried.json().get("repeated").asBoolean()).isTrue();
        IngestFixture.Response exceedingAgain = revert(account, "u-1", "6.000000000001", "r-2");
        assertThat(exceedingAgain.status()).isEqualTo(400);

        IngestFixture.Response missingKey = post("/v1/events:revert", "{\"billing_account_id\": \"" + account + "\", \"event_id\": \"u-1\", \"amount\": 1}");
        assertThat(missingKey.status()).isEqualTo(400);
        assertThat(missingKey.json().get("message").asText()).contains("Idempotency-Key");

        assertThat(revert(account, "u-1", "6", "r-5").status()).isEqualTo(200);
        Rollup hour = awaitRollup(account, new BigDecimal("10"));
        assertThat(hour.getQuantitySum()).isEqualByComparingTo("0");
        assertThat(hour.getBillableQuantity()).isEqualByComparingTo("0");
        assertThat(hour.getRevertCount()).isEqualTo(2);
    }

    @Test
    void concurrentPartialRevertsNeverExceedTheUsage() throws Exception {
        String account = "acct-concurrent";
        usage(account, "u-1", "10");
        List<CompletableFuture<IngestFixture.Response>> answers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String key = "c-" + i;
            answers.add(CompletableFuture.supplyAsync(() -> revert(account, "u-1", "2", key)));
        }
        Map<Integer, Integer> byStatus = new HashMap<>();
        for (CompletableFuture<IngestFixture.Response> answer : answers) {
            byStatus.merge(answer.get(60, TimeUnit.SECONDS).status(), 1, Integer::sum);
        }
        assertThat(byStatus).containsEntry(200, 5).containsEntry(400, 3);
        assertThat(awaitRollup(account, new BigDecimal("10")).getQuantitySum()).isEqualByComparingTo("0");
    }

    @Test
    void withoutAnAggregatorTheAnswerIs503AndARetryLaterIsAppliedOnce() {
        String account = "acct-down";
        usage(account, "u-1", "10");
        assertThat(revert(account, "u-1", "1", "warm-up").status()).isEqualTo(200);

        aggregator.close();
        try {
            IngestFixture.Response noVerdict = revert(account, "u-1", "3", "r-down");
            assertThat(noVerdict.status()).isEqualTo(503);
            assertThat(noVerdict.header("Retry-After")).isNotNull();
            assertThat(noVerdict.json().get("code").asText()).isEqualTo("UNAVAILABLE");
        } finally {
            aggregator = startAggregator();
        }
        IngestFixture.Response retried = revertEventually(account, "u-1", "3", "r-down");
        assertThat(retried.status()).isEqualTo(200);
        // 1 + 3 reverted, once each: 6 remain, not 3.
        assertThat(revert(account, "u-1", "6.000000000001", "r-probe").status()).isEqualTo(400);
        assertThat(revert(account, "u-1", "6", "r-rest").status()).isEqualTo(200);
        assertThat(awaitRollup(account, new BigDecimal("10")).getRevertCount()).isEqualTo(3);
    }

    @Test
    void aDuplicateCheckTellsUsagesAppliedBeforeFromNewOnes() throws Exception {
        java.time.Instant now = java.time.Instant.now();
        java.util.function.Function<String, dev.metering.avro.UsageEvent> usage = id -> dev.metering.avro.UsageEvent.newBuilder()
                .setEventId(id).setBillingAccountId("acct-dup").setOrgId("org-f").setIdSpace(dev.metering.avro.IdSpace.FRONTIER)
                .setFeatureCode("api").setQuantity(new BigDecimal("1.000000000000")).setValueType(dev.metering.avro.ValueType.DELTA)
                .setEventTime(now).setReceivedAt(now).setOrigin("frontier").build();

        List<dev.metering.schemas.Verdict> first = api.duplicateCheck().verdicts(List.of(usage.apply("f-1"))).get(30, TimeUnit.SECONDS);
        assertThat(first).extracting(dev.metering.schemas.Verdict::outcome).containsExactly(dev.metering.schemas.Verdict.Outcome.APPLIED);
        assertThat(dev.metering.ingest.revert.DuplicateCheck.anyAlreadyApplied(first)).isFalse();

        List<dev.metering.schemas.Verdict> mixed = api.duplicateCheck().verdicts(List.of(usage.apply("f-2"), usage.apply("f-1")))
                .get(30, TimeUnit.SECONDS);
        assertThat(mixed).extracting(dev.metering.schemas.Verdict::outcome)
                .containsExactly(dev.metering.schemas.Verdict.Outcome.APPLIED, dev.metering.schemas.Verdict.Outcome.DUPLICATE);
        assertThat(dev.metering.ingest.revert.DuplicateCheck.anyAlreadyApplied(mixed)).isTrue();

        // Frontier's revert through the same service: IdSpace.FRONTIER, the tenant from the credential.
        dev.metering.schemas.Verdict reverted = api.reverts().revert("org-f", "acct-dup", dev.metering.avro.IdSpace.FRONTIER, "f-2",
                new BigDecimal("1"), "fr-1", "frontier", field -> field).get(30, TimeUnit.SECONDS);
        assertThat(reverted.outcome()).isEqualTo(dev.metering.schemas.Verdict.Outcome.APPLIED);
        dev.metering.schemas.Verdict nativeSpace = api.reverts().revert("org-f", "acct-dup", dev.metering.avro.IdSpace.NATIVE, "f-1",
                new BigDecimal("1"), "fr-2", "frontier", field -> field).get(30, TimeUnit.SECONDS);
        assertThat(nativeSpace.rejectionReason()).as("ids of another id space are other usages")
                .isEqualTo(dev.metering.schemas.DeadLetter.Reason.REVERT_UNKNOWN_USAGE);
    }

    /** Retries while the restarted aggregator is still taking its partitions (503), as a client would. */
    private static IngestFixture.Response revertEventually(String account, String usageId, String amount, String key) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        IngestFixture.Response answer;
        do {
            answer = revert(account, usageId, amount, key);
        } while (answer.status() == 503 && System.nanoTime() < deadline);
        return answer;
    }

    private static Rollup awaitRollup(String account, BigDecimal reverted) {
        return VerdictAggregator.awaitRollup(kafka, registryUrl, null, account, reverted);
    }
}
