package dev.metering.aggregator.topology;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.aggregator.dedupe.EventFingerprint;
import dev.metering.aggregator.rollup.RollupWindow;
import dev.metering.aggregator.rollup.Rollups;
import dev.metering.aggregator.validation.EventValidator;
import dev.metering.aggregator.validation.Rejection;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.Topics;
import dev.metering.schemas.serde.AvroDeserializer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Validate → dedupe → lateness → aggregate, for one raw record of {@code usage-events}.
 *
 * <p>Time: every decision uses the record's arrival time (the topic's LogAppendTime), never the wall
 * clock, so replaying a partition gives the same answers. {@code now} is the task's stream time: the
 * greatest arrival time seen on the partition so far, including this record.
 * <ul>
 *   <li>FUTURE: {@code event_time > arrival + maxFutureSkew}.</li>
 *   <li>LATE: the event's hour window ended more than the grace period before {@code now}
 *       ({@code hourWindowEnd + grace <= now}). The hour window closes first, so an event is either
 *       added to both its hour and its day window or to neither, and days always equal their hours.</li>
 *   <li>Dedupe: an (account, event id) accepted within {@code dedupeWindow} before {@code now}. Only
 *       accepted events are remembered: a rejected event (late, invalid, conflicting) leaves no trace in
 *       the dedupe state, so it cannot turn a later valid event into a duplicate or a conflict. A
 *       duplicate of an accepted event is dropped even after its window closed.</li>
 * </ul>
 */
final class UsageEventProcessor implements Processor<byte[], byte[], Object, Object> {
    private static final Logger LOG = LoggerFactory.getLogger(UsageEventProcessor.class);
    private static final List<WindowSize> WINDOW_SIZES = List.of(WindowSize.HOUR, WindowSize.DAY);

    private final AggregatorConfig config;
    private final EventValidator validator;
    private final AggregatorMetrics metrics;
    private final Clock clock;
    private ProcessorContext<Object, Object> context;
    private WindowStore<String, byte[]> dedupeStore;
    private WindowStore<String, byte[]> rollupStore;
    private final Serde<Rollup> rollupSerde;

    UsageEventProcessor(AggregatorConfig config, AvroDeserializer<UsageEvent> deserializer, Serde<Rollup> rollupSerde,
                        AggregatorMetrics metrics, Clock clock) {
        this.config = config;
        this.validator = new EventValidator(deserializer, config.maxFutureSkew());
        this.rollupSerde = rollupSerde;
        this.metrics = metrics;
        this.clock = clock;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.dedupeStore = context.getStateStore(AggregatorTopology.DEDUPE_STORE);
        this.rollupStore = context.getStateStore(AggregatorTopology.ROLLUP_STORE);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        metrics.read();
        long arrival = record.timestamp();
        long now = Math.max(arrival, context.currentStreamTimeMs());
        String topic = context.recordMetadata().map(RecordMetadata::topic).orElse("usage-events");

        EventValidator.Result validated = validator.validate(topic, record.key(), record.value(), arrival);
        if (validated.rejection() != null) {
            deadLetter(record, validated.rejection());
            return;
        }
        UsageEvent event = validated.event();

        String dedupeKey = StoreKeys.dedupe(event.getBillingAccountId(), event.getEventId());
        byte[] fingerprint = EventFingerprint.of(event);
        byte[] seen = acceptedFingerprint(dedupeKey, now);
        if (seen != null) {
            if (Arrays.equals(seen, fingerprint)) {
                metrics.duplicate();
            } else {
                deadLetter(record, new Rejection(Reason.CONFLICT, "event_id '" + event.getEventId() + "' of billing account '"
                        + event.getBillingAccountId() + "' was accepted before with a different payload"));
            }
            return;
        }

        RollupWindow hour = RollupWindow.containing(WindowSize.HOUR, event.getEventTime());
        Instant closedAt = hour.end().plus(config.gracePeriod());
        if (!closedAt.isAfter(Instant.ofEpochMilli(now))) {
            deadLetter(record, new Rejection(Reason.LATE, "event_time " + event.getEventTime() + " is in the hour window "
                    + hour.start() + " which closed at " + closedAt + " (grace " + config.gracePeriod() + "); stream time is "
                    + Instant.ofEpochMilli(now)));
            return;
        }

        // Compute both rollups before writing anything, so an overflow leaves the state untouched.
        Instant updatedAt = clock.instant();
        List<Rollup> updated = new ArrayList<>(WINDOW_SIZES.size());
        for (WindowSize size : WINDOW_SIZES) {
            RollupWindow window = RollupWindow.containing(size, event.getEventTime());
            String key = StoreKeys.rollup(event.getBillingAccountId(), event.getFeatureCode(), size);
            byte[] stored = rollupStore.fetch(key, window.start().toEpochMilli());
            Rollup current = stored == null ? null : rollupSerde.deserializer().deserialize(Topics.USAGE_ROLLUPS, stored);
            try {
                updated.add(Rollups.add(current, window, event, updatedAt));
            } catch (IllegalArgumentException e) {
                deadLetter(record, new Rejection(Reason.INVALID_VALUE, e.getMessage()));
                return;
            }
        }
        for (Rollup rollup : updated) {
            String key = StoreKeys.rollup(rollup.getBillingAccountId(), rollup.getFeatureCode(), rollup.getWindowSize());
            byte[] encoded = rollupSerde.serializer().serialize(Topics.USAGE_ROLLUPS, rollup);
            rollupStore.put(key, encoded, rollup.getWindowStart().toEpochMilli());
            RollupKey rollupKey = new RollupKey(rollup.getBillingAccountId(), rollup.getFeatureCode(), rollup.getWindowSize(),
                    rollup.getWindowStart());
            context.forward(new Record<Object, Object>(rollupKey, encoded, arrival, new RecordHeaders()), AggregatorTopology.ROLLUPS_SINK);
        }
        dedupeStore.put(dedupeKey, fingerprint, now);
        metrics.accepted(Duration.between(event.getReceivedAt(), updatedAt));
    }

    private byte[] acceptedFingerprint(String dedupeKey, long now) {
        long from = Math.max(0, now - config.dedupeWindow().toMillis());
        try (WindowStoreIterator<byte[]> seen = dedupeStore.fetch(dedupeKey, from, Long.MAX_VALUE)) {
            return seen.hasNext() ? seen.next().value : null;
        }
    }

    private void deadLetter(Record<byte[], byte[]> record, Rejection rejection) {
        String source = context.recordMetadata()
                .map(metadata -> metadata.topic() + "-" + metadata.partition() + "@" + metadata.offset())
                .orElse("unknown");
        RecordHeaders headers = new RecordHeaders(record.headers().toArray());
        DeadLetter.addHeaders(headers, rejection.reason(), rejection.detail(), source);
        context.forward(new Record<Object, Object>(record.key(), record.value(), record.timestamp(), headers), AggregatorTopology.DLQ_SINK);
        metrics.deadLettered(rejection.reason());
        LOG.debug("Dead-lettered {} as {}: {}", source, rejection.reason(), rejection.detail());
    }
}
