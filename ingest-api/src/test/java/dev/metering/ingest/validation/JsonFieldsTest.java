package dev.metering.ingest.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Set;
import org.junit.jupiter.api.Test;

class JsonFieldsTest {
    private final ObjectMapper json = new ObjectMapper();
    private static final Set<String> FIELDS = Set.of("user_id", "created_at");

    @Test
    void acceptsProtojsonCamelCaseAliasesButNotBothSpellings() throws Exception {
        JsonFields fields = JsonFields.read(json.readTree("{\"userId\": \"u\", \"created_at\": null}"), "usages[0]", FIELDS, true);
        assertThat(fields.optionalString("user_id", 10)).isEqualTo("u");
        assertThat(fields.path("user_id")).isEqualTo("usages[0].userId");
        assertThat(fields.has("created_at")).isFalse(); // null is absent, as in protojson
        assertThatThrownBy(() -> JsonFields.read(json.readTree("{\"userId\": \"u\", \"user_id\": \"v\"}"), "x", FIELDS, true))
                .hasMessage("x.user_id repeats field x.userId");
        assertThatThrownBy(() -> JsonFields.read(json.readTree("{\"userId\": \"u\"}"), "", FIELDS, false))
                .hasMessageStartingWith("userId is not a known field");
    }

    @Test
    void checksTypesAndLengths() throws Exception {
        JsonFields fields = JsonFields.read(json.readTree("{\"user_id\": 5, \"created_at\": \"  \"}"), "", FIELDS, false);
        assertThatThrownBy(() -> fields.optionalString("user_id", 10)).hasMessage("user_id must be a string, got a number");
        assertThatThrownBy(() -> fields.requiredString("created_at", 10)).hasMessage("created_at must not be empty");
        JsonFields longOne = JsonFields.read(json.readTree("{\"user_id\": \"abcdef\"}"), "", FIELDS, false);
        assertThatThrownBy(() -> longOne.optionalString("user_id", 5)).hasMessage("user_id is longer than 5 characters");
    }
}
