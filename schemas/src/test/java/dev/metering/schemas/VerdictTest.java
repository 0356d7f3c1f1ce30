package dev.metering.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.avro.IdSpace;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class VerdictTest {
    @Test
    void roundTripsAsDocumentedJson() {
        Verdict verdict = Verdict.rejected("org-1", "acct-1", IdSpace.FRONTIER, "r-1", DeadLetter.Reason.REVERT_EXCEEDS_USAGE, "too much");
        String json = new String(verdict.toJson(), StandardCharsets.UTF_8);
        assertThat(json).contains("\"org_id\":\"org-1\"", "\"id_space\":\"FRONTIER\"", "\"outcome\":\"REJECTED\"",
                "\"reason\":\"REVERT_EXCEEDS_USAGE\"", "\"repeated\":false");
        assertThat(Verdict.fromJson(verdict.toJson())).isEqualTo(verdict);
        assertThat(Verdict.fromJson(verdict.asRepeated().toJson()).repeated()).isTrue();
        assertThat(verdict.rejectionReason()).isEqualTo(DeadLetter.Reason.REVERT_EXCEEDS_USAGE);
        assertThat(Verdict.fromJson("{\"outcome\":\"APPLIED\",\"new_field\":1}".getBytes(StandardCharsets.UTF_8)).outcome())
                .as("newer writers may add fields").isEqualTo(Verdict.Outcome.APPLIED);
        assertThatThrownBy(() -> Verdict.fromJson("nope".getBytes(StandardCharsets.UTF_8))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void keysOfDifferentIdentitiesNeverCollide() {
        assertThat(Verdict.key("a", "bc", IdSpace.NATIVE, "x")).isNotEqualTo(Verdict.key("ab", "c", IdSpace.NATIVE, "x"));
        assertThat(Verdict.key("a", "b", IdSpace.NATIVE, "x")).isNotEqualTo(Verdict.key("a", "b", IdSpace.KINDE, "x"));
    }
}
