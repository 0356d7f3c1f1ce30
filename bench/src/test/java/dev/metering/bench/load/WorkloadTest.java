package dev.metering.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkloadTest {
    private static final Instant BASE = Instant.parse("2026-11-26T12:00:00Z");

    @Test
    void skewedTrafficSendsMostEventsFromAFewAccounts() {
        Map<String, Integer> perAccount = counts(new Workload("s", 10_000, 10, BASE, Workload.Traffic.SKEWED), 200_000);
        int top1Percent = perAccount.values().stream().sorted((a, b) -> b - a).limit(100).mapToInt(Integer::intValue).sum();
        assertThat(top1Percent / 200_000.0).as("share of the top 1 %% of accounts").isBetween(0.45, 0.75);
    }

    @Test
    void uniformTrafficSpreadsEventsEvenly() {
        Map<String, Integer> perAccount = counts(new Workload("u", 10_000, 10, BASE, Workload.Traffic.UNIFORM), 200_000);
        int top1Percent = perAccount.values().stream().sorted((a, b) -> b - a).limit(100).mapToInt(Integer::intValue).sum();
        assertThat(top1Percent / 200_000.0).isLessThan(0.03);
        assertThat(perAccount).hasSize(10_000);
    }

    @Test
    void eventNIsAlwaysTheSameEvent() {
        Workload a = new Workload("x", 10_000, 10, BASE, Workload.Traffic.SKEWED);
        Workload b = new Workload("x", 10_000, 10, BASE, Workload.Traffic.SKEWED);
        for (long n = 0; n < 1000; n++) {
            assertThat(a.event(n)).isEqualTo(b.event(n));
            assertThat(a.event(n).eventTime()).isBetween(BASE.minusSeconds(7200), BASE);
        }
        assertThat(a.quantityOfFirst(1000)).isEqualTo(java.util.stream.LongStream.range(0, 1000).map(n -> a.event(n).quantity()).sum());
    }

    private static Map<String, Integer> counts(Workload workload, int events) {
        Map<String, Integer> perAccount = new HashMap<>();
        for (long n = 0; n < events; n++) {
            perAccount.merge(workload.event(n).account(), 1, Integer::sum);
        }
        return perAccount;
    }
}
