package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.IdSpace;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.Verdict;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The native revert answers with the aggregator's verdict; here the verdicts come from the fake verdict source at once. */
class RevertAnswersTest {
    private static final String PATH = "/v1/events:revert";
    private static final String BODY = """
            {"billing_account_id": "acct-1", "event_id": "u-1", "amount": "2"}""";
    private static IngestFixture fixture;

    @BeforeAll
    static void start() {
        fixture = IngestFixture.withoutBroker();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    void eachVerdictIsAnsweredWithItsStatus() {
        assertThat(answer(Verdict.applied("default", "acct-1", IdSpace.NATIVE, "r-1", "reverted 2 of usage 'u-1'")).status()).isEqualTo(200);
        assertThat(answer(rejected("r-2", Reason.REVERT_EXCEEDS_USAGE)).status()).isEqualTo(400);
        assertThat(answer(rejected("r-3", Reason.CONFLICT)).status()).isEqualTo(409);
    }

    @Test
    void aRevertTheAggregatorFailedOnIsAnInternalErrorAtOnce() {
        IngestFixture.Response response = answer(rejected("r-4", Reason.PROCESSING_FAILED));

        assertThat(response.status()).as(response.body()).isEqualTo(500);
        assertThat(response.json().get("code").asText()).isEqualTo("INTERNAL");
        assertThat(response.json().get("message").asText())
                .startsWith("PROCESSING_FAILED: the aggregator failed on this revert and set it aside; nothing of it was applied")
                .doesNotContain("a bug in the detail");
    }

    private static Verdict rejected(String revertId, Reason reason) {
        return Verdict.rejected("default", "acct-1", IdSpace.NATIVE, revertId, reason, "a bug in the detail");
    }

    private static IngestFixture.Response answer(Verdict verdict) {
        fixture.fake.answer(key -> verdict);
        return fixture.post(PATH, BODY, "X-Api-Key", IngestFixture.API_KEY, "Idempotency-Key", verdict.eventId());
    }
}
