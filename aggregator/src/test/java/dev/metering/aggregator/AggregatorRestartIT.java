package dev.metering.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.registry.SchemaRegistryClient;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restarted aggregator that lost its local state (new machine, wiped volume) restores dedupe and rollup state
 * from the changelogs: resent events are still duplicates, reused ids still conflicts, and rollups continue.
 */
class AggregatorRestartIT {
    private static final int EVENTS_PER_RUN = 3_000;

    @TempDir
    Path firstStateDir;
    @TempDir
    Path secondStateDir;

    @Test
    void stateSurvivesARestartOnAnEmptyStateDirectory() throws Exception {
        String registryUrl = "mem://aggregator-restart-it-" + UUID.randomUUID();
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl(registryUrl);
        RandomEvents generator = new RandomEvents(7L, Instant.now(), 5, "evt-");
        List<UsageEvent> firstRun = new ArrayList<>();
        for (int i = 0; i < EVENTS_PER_RUN; i++) {
            firstRun.add(generator.next(i));
        }
        List<UsageEvent> secondRunNew = new ArrayList<>();
        for (int i = EVENTS_PER_RUN; i < 2 * EVENTS_PER_RUN; i++) {
            secondRunNew.add(generator.next(i));
        }
        List<UsageEvent> resent = firstRun.subList(0, 500);
        List<UsageEvent> conflicting = firstRun.subList(500, 510).stream()
                .map(event -> UsageEvent.newBuilder(event).setQuantity(event.getQuantity().add(BigDecimal.ONE)).build())
                .toList();
        // Reverts of half of 20 DELTA usages before the restart; after it (on an empty state directory, so from the
        // changelog) the same reverts resent are duplicates, one more than what remains is refused, the rest is applied.
        List<UsageEvent> reverts = new ArrayList<>();
        List<UsageEvent> exceeding = new ArrayList<>();
        List<UsageEvent> rest = new ArrayList<>();
        for (UsageEvent usage : firstRun) {
            if (reverts.size() < 20 && usage.getValueType() == dev.metering.avro.ValueType.DELTA && usage.getQuantity().signum() > 0
                    && reverts.stream().noneMatch(r -> r.getRevertsEventId().equals(usage.getEventId()))) {
                BigDecimal half = usage.getQuantity().divide(BigDecimal.valueOf(2), 12, java.math.RoundingMode.DOWN);
                BigDecimal remaining = usage.getQuantity().subtract(half);
                reverts.add(revert(usage, "rev-1-" + reverts.size(), half));
                exceeding.add(revert(usage, "rev-2-" + exceeding.size(), remaining.add(new BigDecimal("0.000000000001"))));
                rest.add(revert(usage, "rev-3-" + rest.size(), remaining));
            }
        }
        List<UsageEvent> firstRunWithReverts = new ArrayList<>(firstRun);
        firstRunWithReverts.addAll(reverts);
        List<UsageEvent> secondRun = new ArrayList<>(secondRunNew);
        secondRun.addAll(resent);
        secondRun.addAll(conflicting);
        secondRun.addAll(reverts);
        secondRun.addAll(exceeding);
        secondRun.addAll(rest);

        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            KafkaTestSupport support = new KafkaTestSupport(kafka.bootstrapServers());
            try (AggregatorService first = new AggregatorService(config(kafka, registryUrl, firstStateDir))) {
                first.start();
                support.awaitReady(first);
                support.produce(registry, firstRunWithReverts, 0);
                Map<RollupKey, Expected> expected = Expected.recompute(firstRunWithReverts);
                assertThat(Expected.differences(expected, support.readRollupsUntil(registry, expected))).isEmpty();
            }

            try (AggregatorService second = new AggregatorService(config(kafka, registryUrl, secondStateDir))) {
                second.start();
                support.awaitReady(second);
                support.produce(registry, secondRun, 0);
                List<UsageEvent> accepted = new ArrayList<>(firstRunWithReverts);
                accepted.addAll(secondRunNew);
                accepted.addAll(rest);
                Map<RollupKey, Expected> expected = Expected.recompute(accepted);
                assertThat(Expected.differences(expected, support.readRollupsUntil(registry, expected))).isEmpty();

                List<ConsumerRecord<byte[], byte[]>> deadLetters = support.readDeadLetters(conflicting.size() + exceeding.size());
                assertThat(deadLetters).extracting(record -> DeadLetter.header(record.headers(), DeadLetter.REASON_HEADER))
                        .containsOnly("CONFLICT", "REVERT_EXCEEDS_USAGE")
                        .filteredOn("REVERT_EXCEEDS_USAGE"::equals).hasSize(exceeding.size());
                assertThat(second.metrics().duplicateCount()).isEqualTo(resent.size() + reverts.size());
            }
        }
    }

    private static UsageEvent revert(UsageEvent usage, String id, BigDecimal amount) {
        return UsageEvent.newBuilder(usage).setEventId(id).setRevertsEventId(usage.getEventId()).setFeatureCode("").setQuantity(amount)
                .setMetadata(null).setDescription(null).setUsageType(null).setUserId(null).setProjectId(null).build();
    }

    private static AggregatorConfig config(EmbeddedKafka kafka, String registryUrl, Path stateDir) {
        return new AggregatorConfig(kafka.bootstrapServers(), registryUrl, "aggregator-restart-it", stateDir,
                Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofMillis(200), 1, 10L * 1024 * 1024,
                "127.0.0.1", 0, new TopicSettings(2, (short) 1, Duration.ofDays(7), Duration.ofDays(30)));
    }
}
