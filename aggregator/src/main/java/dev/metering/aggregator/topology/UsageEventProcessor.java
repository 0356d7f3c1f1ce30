package dev.metering.aggregator.topology;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.aggregator.dedupe.AcceptedEvent;
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
import dev.metering.schemas.Verdict;
import dev.metering.schemas.registry.SchemaRegistryException;
import dev.metering.schemas.rules.EventRules;
import dev.metering.schemas.rules.RuleViolation;
import dev.metering.schemas.rules.Tenants;
import dev.metering.schemas.serde.AvroDeserializer;
import java.time.Clock;
import java.time.Duration;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.kstream.Windowed;
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
 * <p>Emission: an accepted event updates its hour's state in the rollup store, stamped with the task's next change
 * number, and holds the hour in memory ({@link #changed}); a wall-clock punctuator sends each held hour's full rollup
 * once per {@code AGGREGATOR_EMIT_INTERVAL} and records the last change number it sent ({@link #EMITTED_THROUGH}, in
 * the changelogged {@code unemitted-rollups} store), in the same transaction. A crash after a commit leaves hours in
 * the rollup store's changelog with a change number above the recorded one; {@link #init} (which runs after every
 * restore) finds them, so the next owner of the task sends them: no update is lost, and what is sent is always the
 * complete current state of the hour, so coalescing changes no figure. One changelog record per emit replaces the two
 * per hour (a mark and its deletion) that versions before kept; their marks are still taken over.
 */
final class UsageEventProcessor implements Processor<byte[], byte[], Object, Object> {
    private static final Logger LOG = LoggerFactory.getLogger(UsageEventProcessor.class);
    /** Expired ids deleted per purge punctuation at most, so one punctuation never stalls the task for long. */
    private static final int PURGE_BATCH = 10_000;
    private static final Duration PURGE_INTERVAL = Duration.ofSeconds(1);
    /**
     * The one key of {@code unemitted-rollups}: the change number of the last emit. Hours of the rollup store stamped
     * with a higher one were changed after it. (Versions before kept one entry per unsent hour, keyed by its mark,
     * which starts with a digit.)
     */
    static final String EMITTED_THROUGH = "emitted-through";

    private final AggregatorConfig config;
    private final EventRules rules;
    private final EventValidator validator;
    private final AggregatorMetrics metrics;
    private final Clock clock;
    private final ProcessingHooks hooks;
    private ProcessorContext<Object, Object> context;
    /** Whether the record being processed has written anything yet: a store entry or a forwarded record. */
    private boolean recordWrote;
    /** The record being processed, once decoded and valid. */
    private UsageEvent decoded;
    private AcceptedIds acceptedIds;
    private WindowStore<String, byte[]> rollupStore;
    private KeyValueStore<String, byte[]> unemitted;
    /** The hours changed since the last emit (by mark) with their current state: what the next emit sends. */
    private final Map<String, ChangedHour> changed = new LinkedHashMap<>();
    /** The change number of this task's latest write to the rollup store. */
    private long lastChange;

    private record ChangedHour(StoreKeys.Hour hour, RollupState state) {
    }

    UsageEventProcessor(AggregatorConfig config, AvroDeserializer<UsageEvent> deserializer, AggregatorMetrics metrics, Clock clock,
                        ProcessingHooks hooks) {
        this.config = config;
        this.hooks = hooks;
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
        loadChangedHours();
        context.schedule(config.emitInterval(), PunctuationType.WALL_CLOCK_TIME, wallClock -> emitChangedRollups());
        context.schedule(PURGE_INTERVAL, PunctuationType.WALL_CLOCK_TIME, wallClock -> {
            long streamTime = context.currentStreamTimeMs();
            if (streamTime > 0) {
                acceptedIds.purge(streamTime, PURGE_BATCH);
            }
        });
    }

    /**
     * Decides about the record and applies the decision. A failure before the record wrote anything (a store entry, a
     * forwarded record) that is not an outage is a bug the record's data met: the record is dead-lettered as
     * {@link Reason#PROCESSING_FAILED} and the partition goes on, where a retry would fail the same way forever. After a
     * write, or for an outage (stores, broker, registry), the failure is thrown: the transaction aborts and the record is
     * processed again from the last commit, as for any outage. Every check that can fail on data comes before the
     * writes, so a bug there is isolated.
     */
    @Override
    public void process(Record<byte[], byte[]> record) {
        metrics.read();
        recordWrote = false;
        decoded = null;
        try {
            decideAndApply(record);
        } catch (RuntimeException failure) {
            if (recordWrote || isOutage(failure)) {
                throw failure;
            }
            LOG.error("Processing failed on {} before it wrote anything; dead-lettered as {}", source(), Reason.PROCESSING_FAILED, failure);
            Rejection rejection = new Rejection(Reason.PROCESSING_FAILED, failure.getClass().getName() + ": " + failure.getMessage());
            Verdict verdict = awaitedVerdict(record, rejection);
            deadLetter(record, rejection);
            if (verdict != null) {
                sendVerdict(verdict, record.timestamp());
            }
        }
    }

    /**
     * The rejection as a verdict, when someone waits for the record's verdict (every revert; a usage whose record asks),
     * so that the ingest API answers at once instead of after its verdict timeout; null otherwise, or when the record
     * was not decoded.
     */
    private Verdict awaitedVerdict(Record<byte[], byte[]> record, Rejection rejection) {
        UsageEvent event = decoded;
        if (event == null || event.getRevertsEventId() == null && record.headers().lastHeader(Verdict.REQUESTED_HEADER) == null) {
            return null;
        }
        try {
            return Verdict.rejected(Tenants.of(event.getOrgId()), event.getBillingAccountId(), event.getIdSpace(), event.getEventId(),
                    rejection.reason(), rejection.detail());
        } catch (RuntimeException e) {
            LOG.warn("No verdict for {}: {}", source(), e.toString());
            return null;
        }
    }

    /** Failures of what the processor depends on, never of one record: the stores, the broker and the transaction, the schema registry. */
    static boolean isOutage(RuntimeException failure) {
        return failure instanceof KafkaException || failure instanceof SchemaRegistryException;
    }

    private void decideAndApply(Record<byte[], byte[]> record) {
        long arrival = record.timestamp();
        long now = Math.max(arrival, context.currentStreamTimeMs());
        String topic = context.recordMetadata().map(RecordMetadata::topic).orElse("usage-events");

        EventValidator.Result validated = validator.validate(topic, record.key(), record.value());
        if (validated.rejection() != null) {
            deadLetter(record, validated.rejection());
            return;
        }
        UsageEvent event = validated.event();
        decoded = event;
        hooks.beforeDecision(event);
        if (event.getRevertsEventId() != null) {
            processRevert(record, event, now);
            return;
        }
        String tenant = Tenants.of(event.getOrgId());
        boolean verdictRequested = record.headers().lastHeader(Verdict.REQUESTED_HEADER) != null;

        String identity = StoreKeys.dedupe(tenant, event.getBillingAccountId(), event.getIdSpace(), event.getEventId());
        byte[] fingerprint = EventFingerprint.of(event);
        byte[] seen = acceptedIds.acceptedFingerprint(identity, now);
        if (seen != null) {
            if (Arrays.equals(seen, fingerprint)) {
                metrics.duplicate();
                if (verdictRequested) {
                    sendVerdict(new Verdict(tenant, event.getBillingAccountId(), event.getIdSpace(), event.getEventId(),
                            Verdict.Outcome.DUPLICATE, null, "accepted before; counted once", false), record.timestamp());
                }
            } else {
                rejectUsage(record, event, tenant, verdictRequested, new Rejection(Reason.CONFLICT, "event_id '" + event.getEventId() + "' (id space "
                        + event.getIdSpace() + ") of billing account '" + event.getBillingAccountId() + "' in tenant '" + tenant
                        + "' was accepted before with a different payload"));
            }
            return;
        }

        try {
            rules.judgeEventTime(event.getEventTime(), Instant.ofEpochMilli(arrival), Instant.ofEpochMilli(now));
        } catch (RuleViolation violation) {
            rejectUsage(record, event, tenant, verdictRequested, new Rejection(violation.kind().deadLetterReason(), violation.getMessage()));
            return;
        }

        long hourStart = RollupWindow.hourStart(event.getEventTime().toEpochMilli());
        StoreKeys.Hour hour = StoreKeys.hour(tenant, event.getBillingAccountId(), event.getFeatureCode(), hourStart);
        RollupState state;
        try {
            state = Rollups.add(currentState(hour), event);
        } catch (IllegalArgumentException e) {
            // Precision 50 holds 10^12 events of the largest quantity, so this is a safeguard, not an expected path.
            rejectUsage(record, event, tenant, verdictRequested, new Rejection(Reason.INVALID_VALUE, e.getMessage()));
            return;
        }
        AcceptedEvent details = event.getValueType() == dev.metering.avro.ValueType.DELTA
                ? new AcceptedEvent.Delta(hourStart, state.resets(), event.getQuantity(), dev.metering.schemas.Quantities.ZERO, event.getFeatureCode())
                : new AcceptedEvent.Absolute();
        byte[] encodedDetails = details.encode();
        // From here on only writes and counting: anything that could fail on the record's data must come before, or the
        // failed transaction's retry would fail again on the same record and stop its partition.
        store(hour, state);
        remember(identity, fingerprint, encodedDetails, now);
        metrics.accepted(Duration.between(event.getReceivedAt(), clock.instant()));
        if (verdictRequested) {
            sendVerdict(Verdict.applied(tenant, event.getBillingAccountId(), event.getIdSpace(), event.getEventId(), "counted"), record.timestamp());
        }
    }

    /**
     * A revert of an accepted DELTA usage (same tenant, account and id space), decided against the usage's entry in
     * the dedupe state: applied when the usage is known, a DELTA, not a revert, its hour still open (grace period, by
     * stream time) and the amount within what remains of it; otherwise dead-lettered with its own reason. Either way
     * the revert's identity is remembered with its verdict, so a retry of it (same identity, same payload) gets the
     * same verdict again and is never applied twice. Reverts of one usage are serialised by the partition (the
     * account's), so together they never exceed its amount.
     */
    private void processRevert(Record<byte[], byte[]> record, UsageEvent revert, long now) {
        String tenant = Tenants.of(revert.getOrgId());
        String account = revert.getBillingAccountId();
        String identity = StoreKeys.dedupe(tenant, account, revert.getIdSpace(), revert.getEventId());
        byte[] fingerprint = EventFingerprint.of(revert);
        AcceptedIds.Entry seen = acceptedIds.lookup(identity, now);
        if (seen != null) {
            AcceptedEvent earlier = AcceptedEvent.decode(seen.details());
            if (Arrays.equals(seen.fingerprint(), fingerprint) && earlier instanceof AcceptedEvent.Revert stored) {
                metrics.duplicate();
                sendVerdict(revertVerdict(revert, tenant, stored).asRepeated(), record.timestamp());
            } else {
                Rejection conflict = new Rejection(Reason.CONFLICT, "event_id '" + revert.getEventId() + "' (id space " + revert.getIdSpace()
                        + ") of billing account '" + account + "' in tenant '" + tenant + "' was accepted before with a different payload");
                deadLetter(record, conflict);
                sendVerdict(Verdict.rejected(tenant, account, revert.getIdSpace(), revert.getEventId(), conflict.reason(), conflict.detail()),
                        record.timestamp());
            }
            return;
        }

        BigDecimal amount = revert.getQuantity();
        String usageId = revert.getRevertsEventId();
        String usage = "usage '" + usageId + "' (id space " + revert.getIdSpace() + ") of billing account '" + account + "' in tenant '" + tenant + "'";
        AcceptedIds.Entry target = acceptedIds.lookup(StoreKeys.dedupe(tenant, account, revert.getIdSpace(), usageId), now);
        AcceptedEvent targetEvent = target == null ? null : AcceptedEvent.decode(target.details());
        AcceptedEvent.Revert verdict;
        if (targetEvent == null || targetEvent instanceof AcceptedEvent.Legacy) {
            verdict = new AcceptedEvent.Revert(Reason.REVERT_UNKNOWN_USAGE, targetEvent == null
                    ? usage + " is unknown (never accepted, or accepted longer ago than the dedupe window)"
                    : usage + " was accepted before this version kept usage amounts; it cannot be reverted");
        } else if (targetEvent instanceof AcceptedEvent.Revert) {
            verdict = new AcceptedEvent.Revert(Reason.REVERT_OF_REVERT, usage + " is a revert; a revert cannot be reverted");
        } else if (targetEvent instanceof AcceptedEvent.Absolute) {
            verdict = new AcceptedEvent.Revert(Reason.REVERT_OF_ABSOLUTE, usage + " is an ABSOLUTE value; only DELTA usages can be reverted");
        } else {
            AcceptedEvent.Delta delta = (AcceptedEvent.Delta) targetEvent;
            Instant closes = rules.windowClosesAt(Instant.ofEpochMilli(delta.hourStart()));
            StoreKeys.Hour hour = StoreKeys.hour(tenant, account, delta.featureCode(), delta.hourStart());
            byte[] stored = rollupStore.fetch(hour.series(), delta.hourStart());
            if (!closes.isAfter(Instant.ofEpochMilli(now)) || stored == null) {
                verdict = new AcceptedEvent.Revert(Reason.REVERT_LATE, usage + " is in the hour " + Instant.ofEpochMilli(delta.hourStart())
                        + " which closed at " + closes + " (grace " + rules.gracePeriod() + "); stream time is " + Instant.ofEpochMilli(now));
            } else if (amount.compareTo(delta.remaining()) > 0) {
                verdict = new AcceptedEvent.Revert(Reason.REVERT_EXCEEDS_USAGE, "revert amount " + plain(amount) + " is greater than what remains of "
                        + usage + ": " + plain(delta.remaining()) + " of " + plain(delta.amount()));
            } else {
                RollupState state = Rollups.revert(RollupState.decode(stored), amount, delta.resets());
                BigDecimal reverted = delta.reverted().add(amount);
                byte[] revertedUsage = delta.withReverted(reverted).encode();
                verdict = new AcceptedEvent.Revert(null, "reverted " + plain(amount) + " of " + usage + "; " + plain(delta.amount().subtract(reverted))
                        + " of " + plain(delta.amount()) + " remains");
                store(hour, state); // the writes last, as in process()
                acceptedIds.update(target, revertedUsage);
            }
        }
        remember(identity, fingerprint, verdict.encode(), now);
        if (verdict.applied()) {
            metrics.accepted(Duration.between(revert.getReceivedAt(), clock.instant()));
        } else {
            deadLetter(record, new Rejection(verdict.reason(), verdict.detail()));
        }
        sendVerdict(revertVerdict(revert, tenant, verdict), record.timestamp());
    }

    private static Verdict revertVerdict(UsageEvent revert, String tenant, AcceptedEvent.Revert verdict) {
        return verdict.applied()
                ? Verdict.applied(tenant, revert.getBillingAccountId(), revert.getIdSpace(), revert.getEventId(), verdict.detail())
                : Verdict.rejected(tenant, revert.getBillingAccountId(), revert.getIdSpace(), revert.getEventId(), verdict.reason(), verdict.detail());
    }

    private static String plain(BigDecimal value) {
        return value.stripTrailingZeros().toPlainString();
    }

    /** The hour's state: the one in memory when the hour changed since the last emit (the same as stored), else the store's; null when new. */
    private RollupState currentState(StoreKeys.Hour hour) {
        ChangedHour pending = changed.get(hour.mark());
        if (pending != null) {
            return pending.state();
        }
        byte[] stored = rollupStore.fetch(hour.series(), hour.hourStart());
        return stored == null ? null : RollupState.decode(stored);
    }

    private void remember(String identity, byte[] fingerprint, byte[] details, long now) {
        recordWrote = true;
        acceptedIds.remember(identity, fingerprint, details, now);
    }

    /** Stores the hour's new state under the task's next change number, and holds it for the next emit. */
    private void store(StoreKeys.Hour hour, RollupState state) {
        recordWrote = true;
        rollupStore.put(hour.series(), state.encode(++lastChange), hour.hourStart());
        changed.put(hour.mark(), new ChangedHour(hour, state));
    }

    /**
     * The hours changed after the last emit (after a restore: those a crashed owner had not sent yet), with their
     * state, and the task's latest change number. An hour that has left the rollup store's retention is not among
     * them: nothing can change it any more.
     */
    private void loadChangedHours() {
        changed.clear(); // init runs again on the same instance when a task is revived
        byte[] recorded = unemitted.get(EMITTED_THROUGH);
        long emittedThrough = recorded == null ? 0L : ByteBuffer.wrap(recorded).getLong();
        lastChange = emittedThrough;
        try (KeyValueIterator<Windowed<String>, byte[]> hours = rollupStore.all()) {
            while (hours.hasNext()) {
                KeyValue<Windowed<String>, byte[]> entry = hours.next();
                long change = RollupState.change(entry.value);
                lastChange = Math.max(lastChange, change);
                if (change > emittedThrough) {
                    StoreKeys.Hour hour = StoreKeys.parseSeries(entry.key.key(), entry.key.window().start());
                    changed.put(hour.mark(), new ChangedHour(hour, RollupState.decode(entry.value)));
                }
            }
        }
        takeOverOlderVersionsMarks();
    }

    /**
     * Hours an older version marked unsent in {@code unemitted-rollups}: written again with a change number (so they
     * are found as above from now on) and unmarked, in this task's transaction, so a crash cannot lose both.
     */
    private void takeOverOlderVersionsMarks() {
        List<String> marks = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> iterator = unemitted.all()) {
            iterator.forEachRemaining(entry -> {
                if (!entry.key.equals(EMITTED_THROUGH)) {
                    marks.add(entry.key);
                }
            });
        }
        for (String mark : marks) {
            StoreKeys.Hour hour = StoreKeys.parseMark(mark);
            byte[] stored = rollupStore.fetch(hour.series(), hour.hourStart());
            if (stored != null) {
                store(hour, RollupState.decode(stored));
            }
            unemitted.delete(mark);
        }
    }

    private void rejectUsage(Record<byte[], byte[]> record, UsageEvent event, String tenant, boolean verdictRequested, Rejection rejection) {
        deadLetter(record, rejection);
        if (verdictRequested) {
            sendVerdict(Verdict.rejected(tenant, event.getBillingAccountId(), event.getIdSpace(), event.getEventId(), rejection.reason(),
                    rejection.detail()), record.timestamp());
        }
    }

    /** In this task's transaction, like the rollups and dead letters: a reader with read_committed sees it iff the decision stands. */
    private void sendVerdict(Verdict verdict, long timestamp) {
        recordWrote = true;
        context.forward(new Record<Object, Object>(verdict.key(), verdict.toJson(), timestamp, new RecordHeaders()), AggregatorTopology.VERDICTS_SINK);
    }

    /** Sends the current rollup of every hour changed since the last emit and records the change number it reached, in this transaction. */
    private void emitChangedRollups() {
        if (changed.isEmpty()) {
            return;
        }
        Instant updatedAt = clock.instant();
        long timestamp = Math.max(0, context.currentStreamTimeMs());
        for (Map.Entry<String, ChangedHour> entry : changed.entrySet()) {
            StoreKeys.Hour hour = entry.getValue().hour();
            RollupWindow window = RollupWindow.startingAt(hour.hourStart());
            Rollup rollup = entry.getValue().state().toRollup(hour.tenant(), hour.billingAccountId(), hour.featureCode(), window, updatedAt);
            RollupKey key = new RollupKey(hour.tenant(), hour.billingAccountId(), hour.featureCode(), RollupWindow.SIZE, window.start());
            context.forward(new Record<Object, Object>(key, rollup, timestamp, new RecordHeaders()), AggregatorTopology.ROLLUPS_SINK);
        }
        unemitted.put(EMITTED_THROUGH, ByteBuffer.allocate(Long.BYTES).putLong(lastChange).array());
        metrics.emitted(changed.size());
        changed.clear();
    }

    private void deadLetter(Record<byte[], byte[]> record, Rejection rejection) {
        recordWrote = true;
        String source = source();
        RecordHeaders headers = new RecordHeaders(record.headers().toArray());
        DeadLetter.addHeaders(headers, rejection.reason(), rejection.detail(), source);
        context.forward(new Record<Object, Object>(record.key(), record.value(), record.timestamp(), headers), AggregatorTopology.DLQ_SINK);
        metrics.deadLettered(rejection.reason());
        LOG.debug("Dead-lettered {} as {}: {}", source, rejection.reason(), rejection.detail());
    }

    /** The record being processed, as topic-partition@offset. */
    private String source() {
        return context.recordMetadata()
                .map(metadata -> metadata.topic() + "-" + metadata.partition() + "@" + metadata.offset())
                .orElse("unknown");
    }
}
