package dev.metering.ingest.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.ingest.validation.RequestRules;
import dev.metering.ops.auth.ApiKey;
import dev.metering.ops.http.InvalidFieldException;
import dev.metering.ops.http.StrictJson;
import dev.metering.schemas.rules.EventRules;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every refusal of {@link BatchEventsEndpoint#validate} names the field by its path in the request, with the rule's words. */
class BatchEventsValidateTest {
    private static final Instant NOW = Instant.parse("2025-06-01T12:00:00Z");
    private static final RequestRules RULES = new RequestRules(EventRules.defaults(), Clock.fixed(NOW, ZoneOffset.UTC));
    private static final ObjectMapper JSON = StrictJson.mapper();
    private static final String VALID = "\"event_id\": \"e\", \"billing_account_id\": \"a\", \"feature_code\": \"f\", \"quantity\": 1";

    @Test
    void namesEachRefusedFieldByItsPath() throws Exception {
        String[][] cases = {
                {"\"event_id\": \"\", \"billing_account_id\": \"a\", \"feature_code\": \"f\", \"quantity\": 1", "events[0].event_id must not be empty or blank"},
                {"\"event_id\": 5, \"billing_account_id\": \"a\", \"feature_code\": \"f\", \"quantity\": 1", "events[1].event_id must be a string, got a number"},
                {"\"event_id\": \"e\", \"feature_code\": \"f\", \"quantity\": 1", "events[2].billing_account_id is required"},
                {"\"event_id\": \"e\", \"billing_account_id\": \"a\", \"feature_code\": \" f\", \"quantity\": 1", "events[3].feature_code must not start or end with white space"},
                {"\"event_id\": \"e\", \"billing_account_id\": \"a\", \"feature_code\": \"f\", \"quantity\": -1", "events[4].quantity must not be negative, got -1"},
                {"\"event_id\": \"e\", \"billing_account_id\": \"a\", \"feature_code\": \"f\", \"quantity\": \"1,5\"",
                        "events[5].quantity is not a decimal number (ASCII digits, like 12 or 12.5): '1,5'"},
                {"\"event_id\": \"e\", \"billing_account_id\": \"a\", \"feature_code\": \"f\", \"quantity\": true",
                        "events[6].quantity must be a decimal number or a string holding one, got a boolean"},
                {"\"event_id\": \"e\", \"billing_account_id\": \"a\", \"feature_code\": \"f\"", "events[7].quantity is required"},
                {VALID + ", \"value_type\": \"SUM\"", "events[8].value_type must be DELTA or ABSOLUTE"},
                {VALID + ", \"event_time\": \"yesterday\"", "events[9].event_time is not an RFC 3339 timestamp like 2025-01-31T12:00:00Z: 'yesterday'"},
                {VALID + ", \"event_time\": \"2025-06-01T13:00:00Z\"", "events[10].event_time is more than PT5M after 2025-06-01T12:00:00Z: 2025-06-01T13:00:00Z"},
                {VALID + ", \"event_time\": \"2025-05-01T13:00:00Z\"", "events[11].event_time is too old: its hour 2025-05-01T13:00:00Z closes"},
                {VALID + ", \"usage_type\": \"" + "u".repeat(101) + "\"", "events[12].usage_type is longer than 100 characters"},
                {VALID + ", \"user_id\": \"u\\u0000\"", "events[13].user_id holds a NUL character at character 1"},
                {VALID + ", \"org_id\": \"o\\u0001\"", "events[14].org_id holds the control character U+0001 at character 1"},
                {VALID + ", \"metadata\": {\"region\": 5}", "events[15].metadata.region must be a string, got a number"},
                {VALID + ", \"metadata\": {\"region\": \"a\\u0000\"}", "events[16].metadata.region holds a NUL character at character 1"},
                {VALID + ", \"metadata\": {\"\": \"v\"}", "events[17].metadata has an empty key"},
                {VALID + ", \"metadata\": {\"k\\u0000\": \"v\"}", "events[18].metadata key holds a NUL character at character 1"},
                {VALID + ", \"metadata\": []", "events[19].metadata must be a JSON object, got an array"},
                {VALID + ", \"colour\": \"red\"", "events[20].colour is not a known field (known: "},
                {VALID + ", \"description\": \"\\ud800\"", "events[21].description holds a lone surrogate (invalid Unicode) at character 0"},
        };
        StringBuilder body = new StringBuilder("{\"events\": [");
        for (int i = 0; i < cases.length; i++) {
            body.append(i == 0 ? "" : ",").append('{').append(cases[i][0]).append('}');
        }
        List<BatchEventsEndpoint.Result> results = BatchEventsEndpoint.validate(JSON.readTree(body.append("]}").toString()),
                ApiKey.parse("k:secret"), RULES);
        for (int i = 0; i < cases.length; i++) {
            InvalidFieldException error = results.get(i).error();
            assertThat(error).as(cases[i][1]).isNotNull();
            assertThat(error.getMessage()).startsWith(cases[i][1]);
            assertThat(error.getMessage()).startsWith(error.field() + " ").startsWith("events[" + i + "]");
        }
        assertThat(results.get(10).error().reason()).isEqualTo(InvalidFieldException.Reason.FUTURE);
        assertThat(results.get(11).error().reason()).isEqualTo(InvalidFieldException.Reason.LATE);
    }

    @Test
    void namesTheOrganizationAKeyMayNotWriteFor() throws Exception {
        List<BatchEventsEndpoint.Result> results = BatchEventsEndpoint.validate(JSON.readTree("{\"events\": [{" + VALID + ", \"org_id\": \"org-b\"}]}"),
                ApiKey.parse("k:secret:org-a"), RULES);
        InvalidFieldException error = results.get(0).error();
        assertThat(error.getMessage()).isEqualTo("events[0].org_id 'org-b' is not an organization API key 'k' may write for [org-a]");
        assertThat(error.reason()).isEqualTo(InvalidFieldException.Reason.FORBIDDEN);
        assertThat(results.get(0).eventId()).isEqualTo("e");
    }
}
