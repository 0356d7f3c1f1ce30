package dev.metering.sink.consume;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.jdbi.v3.core.ConnectionException;
import org.junit.jupiter.api.Test;

class DatabaseAvailabilityTest {
    private static final TopicPartition P0 = new TopicPartition("usage-rollups", 0);
    private static final TopicPartition P1 = new TopicPartition("usage-rollups", 1);
    private static final ConnectionException REFUSED = new ConnectionException(new SQLException("Connection refused"));

    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    private final PartitionPositions positions = new PartitionPositions(consumer);
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private Instant now = Instant.parse("2026-11-20T00:00:00Z");
    private final DatabaseAvailability availability = new DatabaseAvailability(consumer, positions, new SinkMetrics(meters),
            Duration.ofSeconds(5), new Clock() {
                @Override
                public java.time.ZoneId getZone() {
                    return ZoneOffset.UTC;
                }

                @Override
                public Clock withZone(java.time.ZoneId zone) {
                    return this;
                }

                @Override
                public Instant instant() {
                    return now;
                }
            });

    @Test
    void anOutagePausesEveryOwnedPartitionAndReadinessSaysWhatFailed() {
        consumer.assign(List.of(P0, P1));
        assertThat(availability.problem()).isEqualTo("PostgreSQL not contacted yet");

        availability.unreachable("writing a batch of 7 records", REFUSED);
        availability.unreachable("writing a batch of 7 records", REFUSED);

        assertThat(consumer.paused()).isEqualTo(Set.of(P0, P1));
        assertThat(availability.problem()).isEqualTo("PostgreSQL failed while writing a batch of 7 records: SQLException: Connection refused");
        assertThat(meters.get("sink.db.errors").counter().count()).isEqualTo(2);
        assertThat(meters.get("sink.db.available").gauge().value()).isZero();
    }

    @Test
    void partitionsResumeOnceNoBatchWaitsAndOnlyThoseWhosePositionIsKnown() {
        consumer.subscribe(List.of("usage-rollups"));
        consumer.rebalance(List.of(P0, P1));
        positions.seekTo(Map.of()); // both positioned
        availability.unreachable("writing a batch of 7 records", REFUSED);

        availability.reachable(true); // the waiting batch is written first
        assertThat(consumer.paused()).isEqualTo(Set.of(P0, P1));
        assertThat(availability.problem()).isNull();

        positions.assigned(List.of(P1)); // e.g. reassigned: its stored offset must be read first
        availability.reachable(false);
        assertThat(consumer.paused()).containsExactly(P1);
        assertThat(availability.pausedForOutage()).isFalse();
    }

    @Test
    void theIdleCheckComesEveryIntervalAfterTheLastContactOrFailedCheck() {
        assertThat(availability.checkDue()).isTrue(); // never contacted
        availability.reachable(false);
        assertThat(availability.checkDue()).isFalse();
        now = now.plusSeconds(5);
        assertThat(availability.checkDue()).isTrue();

        availability.checkFailed(REFUSED);
        assertThat(availability.problem()).isEqualTo("PostgreSQL failed while checking the connection: SQLException: Connection refused");
        assertThat(availability.checkDue()).isFalse();
        now = now.plusSeconds(5);
        assertThat(availability.checkDue()).isTrue();
    }
}
