package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.ingest.auth.FrontierCredential;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Frontier routes over real HTTP without a broker: every refusal happens before anything is produced, so each
 * status and error shape is checked here in milliseconds; the broker (unreachable on purpose) only answers the 503.
 * What reaches the topic is {@link FrontierUsageIT}'s part.
 */
class FrontierRoutesTest {
    private static final String BODY_FORM = "/v1beta1/organizations/billing/usages";
    private static final String PATH_FORM = "/v1beta1/organizations/org-1/billing/acct-1/usages";
    private static final String CONNECT = "/raystack.frontier.v1beta1.FrontierService/CreateBillingUsage";
    private static final String USAGE = "{\"id\": \"u-1\", \"source\": \"calls\", \"amount\": 1}";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static IngestApi api;
    private static IngestApi limited;

    @BeforeAll
    static void start() {
        IngestApiConfig config = IngestApiConfig.defaults("127.0.0.1:1", "mem://frontier-routes-test")
                .withHttp("127.0.0.1", 0)
                .withCredentials(List.of(new FrontierCredential("app", "secret", Set.of("org-1", "org-2"))), null, List.of());
        api = new IngestApi(config.withLimits(1024, Duration.ofSeconds(1), 0, 1)).start();
        limited = new IngestApi(config.withLimits(1024, Duration.ofSeconds(1), 0.001, 1)).start();
    }

    @AfterAll
    static void stop() {
        api.close();
        limited.close();
    }

    record Answer(int status, HttpResponse<String> raw, JsonNode json) {
        String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }
    }

    static Answer post(IngestApi target, String path, String body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.port() + path))
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        boolean typed = false;
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
            typed |= headers[i].equalsIgnoreCase("Content-Type");
        }
        if (!typed) {
            request.header("Content-Type", "application/json");
        }
        try {
            HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Answer(response.statusCode(), response, JSON.readTree(response.body()));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String auth(String user, String secret) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + secret).getBytes(StandardCharsets.UTF_8));
    }

    static Answer connect(String body, String... headers) {
        String[] all = new String[headers.length + 2];
        all[0] = "Authorization";
        all[1] = auth("app", "secret");
        System.arraycopy(headers, 0, all, 2, headers.length);
        return post(api, CONNECT, body, all);
    }

    static void assertConnectError(Answer answer, int status, String code, String message) {
        assertThat(answer.status()).as(answer.raw().body()).isEqualTo(status);
        assertThat(answer.header("Content-Type")).startsWith("application/json");
        assertThat(answer.json().get("code").asText()).isEqualTo(code);
        assertThat(answer.json().get("message").asText()).contains(message);
        assertThat(answer.json().size()).as("Connect's error carries code and message only here").isEqualTo(2);
    }

    static void assertGatewayError(Answer answer, int status, int code, String message) {
        assertThat(answer.status()).as(answer.raw().body()).isEqualTo(status);
        assertThat(answer.json().get("code").asInt()).isEqualTo(code);
        assertThat(answer.json().get("code").isInt()).isTrue();
        assertThat(answer.json().get("message").asText()).contains(message);
        assertThat(answer.json().get("details").isArray()).isTrue();
    }

    // ---- Connect: each error mapping

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "no credential     | ''                       | 401 | unauthenticated   | missing Authorization header",
            "wrong secret      | app:wrong                | 401 | unauthenticated   | invalid user name or secret",
    })
    void connectAnswersAuthenticationFailuresAsUnauthenticated(String name, String credential, int status, String code, String message) {
        Answer answer = credential.isEmpty() ? post(api, CONNECT, "{\"org_id\": \"org-1\", \"usages\": [" + USAGE + "]}")
                : post(api, CONNECT, "{\"org_id\": \"org-1\", \"usages\": [" + USAGE + "]}", "Authorization", auth("app", "wrong"));
        assertConnectError(answer, status, code, message);
        assertThat(answer.header("WWW-Authenticate")).startsWith("Basic");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "org not bound          | {\"org_id\": \"org-3\", \"usages\": [" + USAGE + "]}                              | 403 | permission_denied | may not write usage for organization org-3",
            "no org                 | {\"usages\": [" + USAGE + "]}                                                     | 400 | invalid_argument  | org_id is required",
            "project, no org        | {\"projectId\": \"p-1\", \"usages\": [" + USAGE + "]}                              | 400 | invalid_argument  | org_id is required: this server cannot resolve projectId to its organization",
            "project and org        | {\"orgId\": \"org-1\", \"projectId\": \"p-1\", \"usages\": [" + USAGE + "]}        | 400 | invalid_argument  | both project_id and org_id cannot be provided",
            "negative amount        | {\"org_id\": \"org-1\", \"usages\": [{\"id\": \"a\", \"source\": \"s\", \"amount\": \"-1\"}]} | 400 | invalid_argument | usages[0].amount must not be negative",
            "bad customer_id        | {\"org_id\": \"org-1\", \"billing_id\": \"b\", \"usages\": [{\"id\": \"a\", \"source\": \"s\", \"amount\": 1, \"customerId\": \"c\"}]} | 400 | invalid_argument | usages[0].customerId 'c' differs from the billing account of the request 'b' (billing_id)",
            "empty usages           | {\"org_id\": \"org-1\", \"usages\": []}                                          | 400 | invalid_argument  | usages must hold at least one usage",
            "not JSON               | {\"org_id\":                                                                     | 400 | invalid_argument  | request body is not valid JSON",
            "same id twice          | {\"org_id\": \"org-1\", \"usages\": [" + USAGE + ", " + USAGE + "]}               | 409 | already_exists    | usages[1].id 'u-1' is already used by usages[0]",
    })
    void connectAnswersRefusalsWithConnectCodesAndStatuses(String name, String body, int status, String code, String message) {
        assertConnectError(connect(body), status, code, message);
    }

    @Test
    void connectServesUnaryJsonOnly() {
        String body = "{\"org_id\": \"org-1\", \"usages\": [" + USAGE + "]}";
        for (String type : new String[] {"application/connect+json", "application/proto", "application/connect+proto", "text/plain"}) {
            Answer answer = connect(body, "Content-Type", type);
            assertConnectError(answer, 415, "invalid_argument", "Content-Type must be application/json");
            assertThat(answer.header("Accept-Post")).isEqualTo("application/json");
        }
        assertConnectError(connect(body, "Connect-Protocol-Version", "2"), 400, "invalid_argument", "Connect-Protocol-Version must be \"1\"");
        assertConnectError(connect(body, "Content-Encoding", "gzip"), 501, "unimplemented", "Content-Encoding is not supported");
    }

    @Test
    void connectAnswersTooLargeRateLimitedAndUnknownProceduresAsConnectDoes() {
        assertConnectError(connect("{\"org_id\": \"org-1\", \"usages\": [" + USAGE + "], \"pad\": \"" + "x".repeat(2000) + "\"}"),
                429, "resource_exhausted", "larger than 1024 bytes");
        Answer unknown = post(api, "/raystack.frontier.v1beta1.FrontierService/DeleteEverything", "{}", "Authorization", auth("app", "secret"));
        assertConnectError(unknown, 404, "unimplemented", "no endpoint POST /raystack.frontier.v1beta1.FrontierService/DeleteEverything");

        String body = "{\"org_id\": \"org-1\", \"usages\": [{\"id\": \"u-x\", \"source\": \"s\", \"amount\": -1}]}";
        post(limited, CONNECT, body, "Authorization", auth("app", "secret")); // takes the one token
        Answer limitedAnswer = post(limited, CONNECT, body, "Authorization", auth("app", "secret"));
        assertConnectError(limitedAnswer, 429, "resource_exhausted", "");
        assertThat(limitedAnswer.header("Retry-After")).isNotBlank();
    }

    @Test
    void connectAnswersUnavailableWithRetryAfterWhenKafkaDoesNotAcknowledge() {
        Answer answer = connect("{\"org_id\": \"org-1\", \"usages\": [" + USAGE + "]}", "Connect-Protocol-Version", "1");
        assertConnectError(answer, 503, "unavailable", "Kafka did not acknowledge");
        assertThat(answer.header("Retry-After")).isNotBlank();
    }

    // ---- the REST body form

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "org not bound   | {\"org_id\": \"org-3\", \"billing_id\": \"b\", \"usages\": [" + USAGE + "]}              | 403 | 7 | may not write usage for organization org-3",
            "no org          | {\"billing_id\": \"b\", \"usages\": [" + USAGE + "]}                                  | 400 | 3 | org_id is required",
            "blank org       | {\"org_id\": \" \", \"usages\": [" + USAGE + "]}                                      | 400 | 3 | org_id must not be empty",
            "bad billing_id  | {\"org_id\": \"org-1\", \"billing_id\": \"a\\u0000b\", \"usages\": [" + USAGE + "]}      | 400 | 3 | billing_id holds a NUL character",
            "project and org | {\"org_id\": \"org-1\", \"project_id\": \"p\", \"usages\": [" + USAGE + "]}              | 400 | 3 | both project_id and org_id cannot be provided",
            "no usages       | {\"org_id\": \"org-1\"}                                                              | 400 | 3 | usages is required",
    })
    void bodyFormRefusesInTheGrpcGatewayShape(String name, String body, int status, int code, String message) {
        assertGatewayError(post(api, BODY_FORM, body, "Authorization", auth("app", "secret")), status, code, message);
    }

    @Test
    void bodyFormAuthenticatesBeforeReadingTheBody() {
        Answer answer = post(api, BODY_FORM, "not even JSON");
        assertGatewayError(answer, 401, 16, "missing Authorization header");
        assertGatewayError(post(api, BODY_FORM, "{}", "Authorization", auth("app", "secret"), "Content-Type", "text/plain"), 415, 3, "Content-Type");
    }

    @Test
    void pathFormRefusesProjectIdAsFrontierDoes() {
        assertGatewayError(post(api, PATH_FORM, "{\"project_id\": \"p\", \"usages\": [" + USAGE + "]}", "Authorization", auth("app", "secret")),
                400, 3, "project_id must not be sent with an organization");
    }

    // ---- unknown fields: skipped, counted, on every Frontier route only

    @Test
    void unknownFieldsAreSkippedOnFrontierRoutesAndCounted() {
        double before = ignoredCount();
        // refused for its amount, not for its unknown members: they were read past (and counted) first
        String body = "{\"org_id\": \"org-1\", \"newer_field\": {\"x\": 1}, \"usages\": [{\"id\": \"a\", \"source\": \"s\", \"amount\": -1, \"colour\": \"red\"}]}";
        assertConnectError(connect(body), 400, "invalid_argument", "usages[0].amount must not be negative");
        assertGatewayError(post(api, BODY_FORM, body, "Authorization", auth("app", "secret")), 400, 3, "usages[0].amount must not be negative");
        assertGatewayError(post(api, PATH_FORM, body.replace("\"org_id\": \"org-1\", ", ""), "Authorization", auth("app", "secret")),
                400, 3, "usages[0].amount must not be negative");
        assertThat(ignoredCount() - before).isEqualTo(6.0);
        assertThat(api.meterRegistry().scrape()).contains("ingest_unknown_fields_ignored_total{api=\"frontier\"}");
    }

    // ---- RevertBillingUsage: refusals before anything is produced, in each route's shape

    private static final String REVERT_PATH = "/v1beta1/admin/organizations/org-1/billing/acct-1/usage/u-1/revert";
    private static final String REVERT_BODY = "/v1beta1/organizations/billing/usages/revert";
    private static final String REVERT_CONNECT = "/raystack.frontier.v1beta1.AdminService/RevertBillingUsage";

    @Test
    void revertRoutesAuthenticateBeforeReadingTheBody() {
        assertGatewayError(post(api, REVERT_PATH, "not JSON"), 401, 16, "missing Authorization header");
        assertGatewayError(post(api, REVERT_BODY, "not JSON"), 401, 16, "missing Authorization header");
        Answer connect = post(api, REVERT_CONNECT, "not JSON", "Authorization", auth("app", "wrong"));
        assertConnectError(connect, 401, "unauthenticated", "invalid user name or secret");
        assertThat(connect.header("WWW-Authenticate")).startsWith("Basic");
        // the path names the org: checked before the body is read
        assertGatewayError(post(api, "/v1beta1/admin/organizations/org-3/billing/b/usage/u/revert", "not JSON", "Authorization", auth("app", "secret")),
                403, 7, "may not write usage for organization org-3");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "no amount            | {}                                           | amount is required",
            "zero amount          | {\"amount\": \"0\"}                           | amount of a revert must be greater than 0",
            "fractional amount    | {\"amount\": 1.5}                              | amount must be a whole number",
            "negative amount      | {\"amount\": \"-2\"}                          | amount must not be negative",
            "over int64           | {\"amount\": \"9223372036854775808\"}         | amount is larger than a 64-bit integer",
            "other usage_id       | {\"amount\": 1, \"usage_id\": \"u-2\"}          | usage_id 'u-2' differs from the path's 'u-1'",
            "other billing        | {\"amount\": 1, \"billingId\": \"b\"}           | billingId 'b' differs from the path's 'acct-1'",
            "project_id           | {\"amount\": 1, \"project_id\": \"p\"}          | both project_id and org_id cannot be provided",
            "blank key            | {\"amount\": 1, \"key\": \" \"}                 | Idempotency-Key header must not be empty or blank",
    })
    void revertPathFormRefusesInTheGrpcGatewayShape(String name, String body, String message) {
        String[] headers = body.contains("\"key\"") ? new String[] {"Authorization", auth("app", "secret"), "Idempotency-Key", " "}
                : new String[] {"Authorization", auth("app", "secret")};
        assertGatewayError(post(api, REVERT_PATH, body.replace(", \"key\": \" \"", ""), headers), 400, 3, message);
    }

    @Test
    void revertPathFormDecodesItsParametersStrictly() {
        assertGatewayError(post(api, "/v1beta1/admin/organizations/org-1/billing/acct-1/usage/%20/revert", "{\"amount\": 1}",
                "Authorization", auth("app", "secret")), 400, 3, "usage_id");
        assertGatewayError(post(api, "/v1beta1/admin/organizations/org-1/billing/acct-1/usage/a%C3/revert", "{\"amount\": 1}",
                "Authorization", auth("app", "secret")), 400, 3, "usage_id");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "org not bound   | {\"org_id\": \"org-3\", \"usage_id\": \"u\", \"amount\": 1}   | 403 | 7 | permission_denied | may not write usage for organization org-3",
            "no org          | {\"usage_id\": \"u\", \"amount\": 1}                        | 400 | 3 | invalid_argument  | org_id is required",
            "project and org | {\"orgId\": \"org-1\", \"projectId\": \"p\", \"usageId\": \"u\", \"amount\": 1} | 400 | 3 | invalid_argument | both project_id and org_id cannot be provided",
            "no usage_id     | {\"org_id\": \"org-1\", \"amount\": 1}                      | 400 | 3 | invalid_argument  | usage_id is required",
            "bad usage_id    | {\"org_id\": \"org-1\", \"usageId\": \"a\\u0000b\", \"amount\": 1} | 400 | 3 | invalid_argument | usageId holds a NUL character",
            "no amount       | {\"org_id\": \"org-1\", \"usage_id\": \"u\"}                 | 400 | 3 | invalid_argument  | amount is required",
            "not JSON        | {\"org_id\":                                                | 400 | 3 | invalid_argument  | request body is not valid JSON",
    })
    void revertBodyFormAndConnectRefuseInTheirShapes(String name, String body, int status, int grpcCode, String connectCode, String message) {
        assertGatewayError(post(api, REVERT_BODY, body, "Authorization", auth("app", "secret")), status, grpcCode, message);
        assertConnectError(post(api, REVERT_CONNECT, body, "Authorization", auth("app", "secret")), status, connectCode, message);
    }

    @Test
    void revertOverConnectServesUnaryJsonOnlyAndAnswersUnavailableWithoutKafka() {
        String body = "{\"org_id\": \"org-1\", \"usage_id\": \"u-1\", \"amount\": \"1\"}";
        Answer proto = post(api, REVERT_CONNECT, body, "Authorization", auth("app", "secret"), "Content-Type", "application/proto");
        assertConnectError(proto, 415, "invalid_argument", "Content-Type must be application/json");
        assertThat(proto.header("Accept-Post")).isEqualTo("application/json");
        assertConnectError(post(api, REVERT_CONNECT, body, "Authorization", auth("app", "secret"), "Content-Encoding", "gzip"),
                501, "unimplemented", "Content-Encoding is not supported");
        Answer unavailable = post(api, REVERT_CONNECT, body, "Authorization", auth("app", "secret"), "Idempotency-Key", "r-1");
        assertConnectError(unavailable, 503, "unavailable", "Kafka did not acknowledge");
        assertThat(unavailable.header("Retry-After")).isNotBlank();
        assertConnectError(post(api, "/raystack.frontier.v1beta1.AdminService/DeleteBillingUsage", body, "Authorization", auth("app", "secret")),
                404, "unimplemented", "no endpoint POST");
    }

    @Test
    void revertRoutesSkipAndCountUnknownFields() {
        double before = ignoredCount();
        assertGatewayError(post(api, REVERT_PATH, "{\"amount\": 0, \"reason\": \"model failed\"}", "Authorization", auth("app", "secret")),
                400, 3, "amount of a revert must be greater than 0");
        assertConnectError(post(api, REVERT_CONNECT, "{\"orgId\": \"org-1\", \"usageId\": \"u\", \"amount\": 0, \"newer\": {}}",
                "Authorization", auth("app", "secret")), 400, "invalid_argument", "amount of a revert must be greater than 0");
        assertThat(ignoredCount() - before).isEqualTo(2.0);
    }

    private static double ignoredCount() {
        var counter = api.meterRegistry().find("ingest.unknown.fields.ignored").tag("api", "frontier").counter();
        return counter == null ? 0 : counter.count();
    }
}
