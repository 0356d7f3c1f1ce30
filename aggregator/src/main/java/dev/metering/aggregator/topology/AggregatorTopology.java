package dev.metering.aggregator.topology;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.aggregator.rollup.RollupWindow;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerdes;
import java.time.Clock;
import java.time.Duration;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The aggregator's topology, a function of its configuration only:
 *
 * <pre>
 * usage-events (raw bytes) ──► usage-aggregator ──► usage-rollups      (RollupKey → Rollup, Avro)
 *                               │ accepted-ids-v2      ├─► usage-events-dlq  (original bytes, reason in headers)
 *                               │                      └─► usage-verdicts    (identity → Verdict JSON: every revert, usages on request)
 *                               │ hour-rollups-v2
 *                               │ unemitted-rollups-v2 (the last emit's change number; emits every AGGREGATOR_EMIT_INTERVAL by a punctuator)
 * </pre>
 *
 * One processor does validation, dedupe, lateness and aggregation, so every decision about a record is
 * made in one place against state of the same task (records are keyed, hence partitioned, by billing
 * account).
 */
public final class AggregatorTopology {
    public static final String SOURCE = "usage-events-source";
    public static final String PROCESSOR = "usage-aggregator";
    public static final String ROLLUPS_SINK = "usage-rollups-sink";
    public static final String DLQ_SINK = "usage-events-dlq-sink";
    public static final String VERDICTS_SINK = "usage-verdicts-sink";
    /**
     * Accepted event identities (key-value, time-bucketed keys). Named apart from version 1's {@code dedupe-store}
     * (a window store keyed without tenant and id space), so an upgraded app never reads the old changelog.
     */
    public static final String DEDUPE_STORE = "accepted-ids-v2";
    /** Hour rollups in compact binary (not Avro). Version 1's {@code rollup-store} held Avro HOUR and DAY rollups. */
    public static final String ROLLUP_STORE = "hour-rollups-v2";
    /**
     * The change number of the hours last sent to usage-rollups (hours stored with a higher one are unsent); changelogged,
     * so no emit is lost in a crash. One entry, written once per emit: in memory, like Kafka's own in-memory stores.
     */
    public static final String UNEMITTED_STORE = "unemitted-rollups-v2";

    private AggregatorTopology() {
    }

    public static Topology build(AggregatorConfig config, SchemaRegistryClient registry, AggregatorMetrics metrics) {
        return build(config, registry, metrics, Clock.systemUTC());
    }

    /** @param clock only for {@code Rollup.updated_at} and the lag metric; no decision depends on it */
    public static Topology build(AggregatorConfig config, SchemaRegistryClient registry, AggregatorMetrics metrics, Clock clock) {
        return build(config, registry, metrics, clock, ProcessingHooks.NONE);
    }

    /** @param hooks points inside a record's processing; only tests set them, to inject failures */
    static Topology build(AggregatorConfig config, SchemaRegistryClient registry, AggregatorMetrics metrics, Clock clock, ProcessingHooks hooks) {
        Serde<RollupKey> rollupKeySerde = AvroSerdes.keySerde(RollupKey.class, registry);
        Serde<Rollup> rollupSerde = AvroSerdes.valueSerde(Rollup.class, registry);

        Topology topology = new Topology();
        topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), Topics.USAGE_EVENTS);
        topology.addProcessor(PROCESSOR, () -> new UsageEventProcessor(config, new AvroDeserializer<>(UsageEvent.class, registry),
                metrics, clock, hooks), SOURCE);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(DEDUPE_STORE), Serdes.Bytes(), Serdes.ByteArray())
                // Each id is written once, so a cache would coalesce nothing and only add a sorted-map lookup per read and write.
                .withCachingDisabled(), PROCESSOR);
        topology.addStateStore(Stores.windowStoreBuilder(
                        Stores.persistentWindowStore(ROLLUP_STORE, rollupRetention(config), Duration.ofMillis(1), false),
                        Serdes.String(), Serdes.ByteArray())
                // No cache: measured, its sorted map cost a fifth of the stream thread on uniform keys and coalesced nothing
                // there; the emits are coalesced by unemitted-rollups instead.
                .withCachingDisabled(), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(UNEMITTED_STORE), Serdes.String(), Serdes.ByteArray())
                .withCachingDisabled(), PROCESSOR);
        topology.addSink(ROLLUPS_SINK, Topics.USAGE_ROLLUPS, rollupKeySerde.serializer(), rollupSerde.serializer(), PROCESSOR);
        topology.addSink(DLQ_SINK, Topics.USAGE_EVENTS_DLQ, new ByteArraySerializer(), new ByteArraySerializer(), PROCESSOR);
        topology.addSink(VERDICTS_SINK, Topics.USAGE_VERDICTS, new StringSerializer(), new ByteArraySerializer(), PROCESSOR);
        return topology;
    }

    /**
     * How long a window's rollup stays in the store. The store expires entries relative to the greatest
     * window start it has seen, which can run ahead of the arrival time by up to a window plus the allowed
     * future skew; with this retention a window is only dropped once no event can be accepted into it.
     */
    static Duration rollupRetention(AggregatorConfig config) {
        return RollupWindow.LENGTH.plus(config.gracePeriod()).plus(config.maxFutureSkew()).plus(Duration.ofHours(2));
    }
}
