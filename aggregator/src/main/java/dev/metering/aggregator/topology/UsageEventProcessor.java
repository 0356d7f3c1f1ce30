package dev.metering.aggregator.topology;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.aggregator.dedupe.AcceptedIds;
import dev.metering.aggregator.dedupe.EventFingerprint;
import dev.metering.aggregator.rollup.RollupState;
import dev.metering.aggregator.rollup.RollupWindow;
import dev.metering.aggregator.rollup.Rollups;
import dev.metering.aggregator.validation.EventValidator;
import dev.metering.aggregator.validation.Rejection;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.rules.EventRules;
import dev.metering.schemas.rules.RuleViolation;
import dev.metering.schemas.rules.Tenants;
import dev.metering.schemas.serde.AvroDeserializer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Validate → dedupe → time → aggregate, for one raw record of {@code usage-events}.
 *
 * <p>Time: every decision uses the record's arrival time (the topic's LogAppendTime), never the wall
 * clock, so replaying a partition gives the same answers. {@code now} is the task's stream time: the
 * greatest arrival time seen on the partition so far, including this record.
 * <ul>
 *   <li>Rules: the shared {@link EventRules} (schemas), as the ingest API applies them.</li>
 *   <li>Dedupe: an event's identity is (tenant, billing account, id space, event id); one accepted within
 *       {@code dedupeWindow} before {@code now} makes this one a duplicate (same payload) or a CONFLICT. Only
 *       accepted events are remembered: a rejected event (late, invalid, conflicting) leaves no trace in the dedupe
 *       state, so it cannot turn a later valid event into a duplicate or a conflict. A duplicate of an accepted event
 *       is dropped even after its window closed.</li>
 *   <li>FUTURE / LATE: {@link EventRules#judgeEventTime} against the arrival and the stream time.</li>
 * </ul>
 *
 * <p>Emission: an accepted event updates its hour's state and marks the hour in the changelogged
 * {@code unemitted-rollups} store; a wall-clock punctuator sends each marked hour's full rollup once per
 * {@code AGGREGATOR_EMIT_INTERVAL} and unmarks it, in the same transaction. A crash after a commit leaves the marks
 * in the changelog, so the next owner of the task sends them: no update is lost, and what is sent is always the
 * complete current state of the hour, so coalescing changes no figure.
 */
final class UsageEventProcessor implements Processor<byte[], byte[], Object, Object> {
    private static final Logger LOG = LoggerFactory.getLogger(UsageEventProcessor.class);
    /** Expired ids deleted per purge punctuation at most, so one punctuation never stalls the task for long. */
    private static final int PURGE_BATCH = 10_000;
    private static final Duration PURGE_INTERVAL = Duration.ofSeconds(1);
    private static final byte[] MARK = new byte[0];

    private final AggregatorConfig config;
    private final EventRules rules;
    private final EventValidator validator;
    private final AggregatorMetrics metrics;
    private final Clock clock;
    private ProcessorContext<Object, Object> context;
    private AcceptedIds acceptedIds;
    private WindowStore<String, byte[]> rollupStore;
    private KeyValueStore<String, byte[]> unemitted;

    UsageEventProcessor(AggregatorConfig config, AvroDeserializer<UsageEvent> deserializer, AggregatorMetrics metrics, Clock clock) {
        this.config = config;
        this.rules = config.rules();
        this.validator = new EventValidator(deserializer, rules);
        this.metrics = metrics;
        this.clock = clock;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.acceptedIds = new AcceptedIds(context.getStateStore(AggregatorTopology.DEDUPE_STORE), config.dedupeWindow());
        this.rollupStore = context.getStateStore(AggregatorTopology.ROLLUP_STORE);
        this.unemitted = context.getStateStore(AggregatorTopology.UNEMITTED_STORE);
        context.schedule(config.emitInterval(), PunctuationType.WALL_CLOCK_TIME, wallClock -> emitChangedRollups());
        context.schedule(PURGE_INTERVAL, PunctuationType.WALL_CLOCK_TIME, wallClock -> {
            long streamTime = context.currentStreamTimeMs();
            if (streamTime > 0) {
                acceptedIds.purge(streamTime, PURGE_BATCH);
            }
        });
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        metrics.read();
        long arrival = record.timestamp();
        long now = Math.max(arrival, context.currentStreamTimeMs());
        String topic = context.recordMetadata().map(RecordMetadata::topic).orElse("usage-events");

        EventValidator.Result validated = validator.validate(topic, record.key(), record.value());
        if (validated.rejection() != null) {
            deadLetter(record, validated.rejection());
            return;
        }
        UsageEvent event = validated.event();
        String tenant = Tenants.of(event.getOrgId());

        String identity = StoreKeys.dedupe(tenant, event.getBillingAccountId(), event.getIdSpace(), event.getEventId());
        byte[] fingerprint = EventFingerprint.of(event);
        byte[] seen = acceptedIds.acceptedFingerprint(identity, now);
        if (seen != null) {
            if (Arrays.equals(seen, fingerprint)) {
                metrics.duplicate();
            } else {
                deadLetter(record, new Rejection(Reason.CONFLICT, "event_id '" + event.getEventId() + "' (id space " + event.getIdSpace()
                        + ") of billing account '" + event.getBillingAccountId() + "' in tenant '" + tenant
                        + "' was accepted before with a different payload"));
            }
            return;
        }

        try {
            rules.judgeEventTime(event.getEventTime(), Instant.ofEpochMilli(arrival), Instant.ofEpochMilli(now));
        } catch (RuleViolation violation) {
            deadLetter(record, new Rejection(violation.kind().deadLetterReason(), violation.getMessage()));
            return;
        }

        long hourStart = RollupWindow.hourStart(event.getEventTime().toEpochMilli());
        String series = StoreKeys.rollup(tenant, event.getBillingAccountId(), event.getFeatureCode());
        byte[] stored = rollupStore.fetch(series, hourStart);
        RollupState state;
        try {
            state = Rollups.add(stored == null ? null : RollupState.decode(stored), event);
        } catch (IllegalArgumentException e) {
            // Precision 50 holds 10^12 events of the largest quantity, so this is a safeguard, not an expected path.
            deadLetter(record, new Rejection(Reason.INVALID_VALUE, e.getMessage()));
            return;
        }
        rollupStore.put(series, state.encode(), hourStart);
        String mark = StoreKeys.unemitted(series, hourStart);
        if (unemitted.get(mark) == null) {
            unemitted.put(mark, MARK);
        }
        acceptedIds.remember(identity, fingerprint, now);
        metrics.accepted(Duration.between(event.getReceivedAt(), clock.instant()));
    }

    /** Sends the current rollup of every hour changed since the last emit, and forgets the marks, in this transaction. */
    private void emitChangedRollups() {
        List<String> marks = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> iterator = unemitted.all()) {
            iterator.forEachRemaining(entry -> marks.add(entry.key));
        }
        if (marks.isEmpty()) {
            return;
        }
        Instant updatedAt = clock.instant();
        long timestamp = Math.max(0, context.currentStreamTimeMs());
        for (String mark : marks) {
            StoreKeys.Unemitted hour = StoreKeys.parseUnemitted(mark);
            byte[] stored = rollupStore.fetch(hour.series(), hour.hourStart());
            if (stored != null) { // null only once the hour left the store's retention: nothing can change it any more
                RollupWindow window = RollupWindow.startingAt(hour.hourStart());
                Rollup rollup = RollupState.decode(stored).toRollup(hour.tenant(), hour.billingAccountId(), hour.featureCode(), window, updatedAt);
                RollupKey key = new RollupKey(hour.tenant(), hour.billingAccountId(), hour.featureCode(), RollupWindow.SIZE, window.start());
                context.forward(new Record<Object, Object>(key, rollup, timestamp, new RecordHeaders()), AggregatorTopology.ROLLUPS_SINK);
            }
            unemitted.delete(mark);
        }
        metrics.emitted(marks.size());
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
