package dev.metering.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.ops.Env;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnitsTest {
    @Test
    void keysAreBoundToATenantAndOptionallyToAccountsAndNeverShown(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("keys");
        Files.writeString(file, "# billing\nbilling:k3:org-b:acct-1|acct-2\n");
        QueryApiConfig config = QueryApiConfig.fromEnv(new Env(Map.of("DATABASE_URL", "postgres://reader:pw@db:5433/metering",
                "QUERY_API_KEYS", "ops:k1:default, portal:k2:org-a", "QUERY_API_KEYS_FILE", file.toString())));
        assertThat(config.keys()).extracting(QueryKey::name).containsExactly("ops", "portal", "billing");
        assertThat(config.keys().get(0).accounts()).isNull();
        assertThat(config.keys().get(2).accounts()).isEqualTo(Set.of("acct-1", "acct-2"));
        assertThat(config.keys().get(2).mayRead("acct-3")).isFalse();
        assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://db:5433/metering");
        assertThat(config.databaseUser()).isEqualTo("reader");
        assertThat(config.httpPort()).isEqualTo(7403);
        assertThat(config.toString() + config.keys()).doesNotContain("k1", "k2", "k3", "pw");
        assertThatThrownBy(() -> QueryKey.parse("name:secret-key")).hasMessageNotContaining("secret-key");
        assertThatThrownBy(() -> QueryKey.parse("name:secret-key:org:")).hasMessageContaining("billing account");
    }

    @Test
    void everyVariableIsDocumentedInTheReadme() throws Exception {
        Env env = new Env(Map.of("DATABASE_URL", "jdbc:postgresql://localhost/metering"));
        QueryApiConfig.fromEnv(env);
        String readme = Files.readString(Path.of("README.md"));
        assertThat(env.namesRead()).isNotEmpty().allSatisfy(name -> assertThat(readme).contains("| `" + name + "` |"));
    }

    @Test
    void windowsOfAZoneFollowItsCalendar() {
        ZoneId berlin = ZoneId.of("Europe/Berlin");
        List<Instant> days = Windows.boundaries(Windows.Size.DAY, berlin, Instant.parse("2025-10-25T22:00:00Z"), Instant.parse("2025-10-27T23:00:00Z"));
        assertThat(days).containsExactly(Instant.parse("2025-10-25T22:00:00Z"), Instant.parse("2025-10-26T23:00:00Z"), Instant.parse("2025-10-27T23:00:00Z"));
        assertThat(Windows.windowStart(Windows.Size.MONTH, berlin, Instant.parse("2025-03-31T22:30:00Z"))).isEqualTo(Instant.parse("2025-03-31T22:00:00Z"));
        assertThat(Windows.firstFractionalOffset(berlin, Instant.parse("2025-01-01T00:00:00Z"), Instant.parse("2026-01-01T00:00:00Z"))).isNull();
        assertThat(Windows.firstFractionalOffset(ZoneId.of("Asia/Kolkata"), Instant.parse("2025-01-01T00:00:00Z"), Instant.parse("2025-01-02T00:00:00Z")))
                .isEqualTo(ZoneOffset.ofHoursMinutes(5, 30));
        // Lord Howe Island moves by half an hour in April: a range before the change is fine... it is at +11 (whole) in January.
        ZoneId lordHowe = ZoneId.of("Australia/Lord_Howe");
        assertThat(Windows.firstFractionalOffset(lordHowe, Instant.parse("2025-01-01T00:00:00Z"), Instant.parse("2025-02-01T00:00:00Z"))).isNull();
        assertThat(Windows.firstFractionalOffset(lordHowe, Instant.parse("2025-01-01T00:00:00Z"), Instant.parse("2025-05-01T00:00:00Z")))
                .isEqualTo(ZoneOffset.ofHoursMinutes(10, 30));
    }

    @Test
    void decimalsAreExactStringsAndCsvFieldsAreQuoted() {
        assertThat(UsageEndpoints.decimal(new BigDecimal("12.000000000000"))).isEqualTo("12");
        assertThat(UsageEndpoints.decimal(new BigDecimal("0E-12"))).isEqualTo("0");
        assertThat(UsageEndpoints.decimal(new BigDecimal("12345678901234567890123456.000000000001"))).isEqualTo("12345678901234567890123456.000000000001");
        assertThat(UsageEndpoints.decimal(new BigDecimal("1.5E+3"))).isEqualTo("1500");
        assertThat(UsageEndpoints.csvField("a,b")).isEqualTo("\"a,b\"");
        assertThat(UsageEndpoints.csvField("say \"hi\"")).isEqualTo("\"say \"\"hi\"\"\"");
        assertThat(UsageEndpoints.csvField("plain")).isEqualTo("plain");
    }
}
