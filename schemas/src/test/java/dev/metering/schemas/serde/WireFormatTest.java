package dev.metering.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.registry.InMemorySchemaRegistry;
import dev.metering.schemas.registry.SchemaRegistryClient;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.Conversions;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

/**
 * The bytes are checked against vectors written by hand from Confluent's wire-format description
 * (magic byte 0, schema id as 4-byte big-endian int, Avro binary) and the Avro 1.12 binary encoding
 * spec (zig-zag varints, length-prefixed strings and bytes, union branch index, decimal as
 * big-endian two's-complement unscaled value).
 */
class WireFormatTest {
    /** A registry that hands out one known id, so the header bytes are predictable. */
    private static final class FixedIdRegistry implements SchemaRegistryClient {
        private final int id;
        private Schema schema;

        FixedIdRegistry(int id) {
            this.id = id;
        }

        @Override
        public int register(String subject, Schema schema) {
            this.schema = schema;
            return id;
        }

        @Override
        public Schema schemaById(int requested) {
            if (requested != id || schema == null) {
                throw new IllegalArgumentException("unknown id " + requested);
            }
            return schema;
        }
    }

    private static final Instant NEW_YEAR_2026 = Instant.parse("2026-01-01T00:00:00Z");

    @Test
    void rollupKeyBytesMatchTheSpec() {
        FixedIdRegistry registry = new FixedIdRegistry(42);
        RollupKey key = new RollupKey("org-a", "acct-1", "api", WindowSize.HOUR, NEW_YEAR_2026);

        byte[] bytes = new AvroSerializer<RollupKey>(registry, true).serialize("usage-rollups", key);

        String expected = "00" + "0000002a"      // magic byte, schema id 42
                + "0a" + "6f72672d61"            // "org-a": length 5 zig-zagged = 10
                + "0c" + "616363742d31"          // "acct-1": length 6 zig-zagged = 12
                + "06" + "617069"                // "api"
                + "00"                           // enum HOUR = index 0
                + "80a0d5edee66";                // 1767225600000 ms, zig-zag varint
        assertThat(HexFormat.of().formatHex(bytes)).isEqualTo(expected);
        assertThat(new AvroDeserializer<>(RollupKey.class, registry).deserialize("usage-rollups", bytes)).isEqualTo(key);
    }

    @Test
    void usageEventBytesMatchTheSpec() {
        FixedIdRegistry registry = new FixedIdRegistry(0x01020304);
        UsageEvent event = sampleEvent();

        byte[] bytes = new AvroSerializer<UsageEvent>(registry, false).serialize("usage-events", event);

        String expected = "00" + "01020304"
                + "04" + "6531"                  // event_id "e1"
                + "0c" + "616363742d31"          // billing_account_id "acct-1"
                + "00"                           // org_id: union branch 0 (null)
                + "06" + "617069"                // feature_code "api"
                + "0c" + "015d3ef79800"          // quantity 1.5 at scale 12: unscaled 1500000000000, 6 bytes
                + "00"                           // value_type DELTA
                + "80da8cf1ee66"                 // event_time 2026-01-01T01:00:00Z
                + "c08394f1ee66"                 // received_at 2026-01-01T01:01:00Z
                + "00" + "00" + "00" + "00"      // usage_type, user_id, project_id, description: null
                + "02" + "02" + "026b" + "0276" + "00" // metadata: branch 1, one entry k=v, end of blocks
                + "02" + "0a" + "6b696e6465"    // origin: branch 1, "kinde"
                + "00"                           // id_space NATIVE = index 0
                + "00"                           // event_time_defaulted false
                + "00";                          // reverts_event_id: null (a usage, not a revert)
        assertThat(HexFormat.of().formatHex(bytes)).isEqualTo(expected);
    }

    /**
     * One serializer reused across topics, threads and sizes (it keeps the last subject's id and a buffer per thread):
     * every record still carries its own subject's id and exactly its own bytes.
     */
    @Test
    void aReusedSerializerWritesEachRecordUnderItsOwnSubjectAndNothingOfTheRecordBefore() throws Exception {
        Map<String, Integer> idsBySubject = Map.of("usage-events-value", 7, "usage-events-dlq-value", 8);
        SchemaRegistryClient registry = new SchemaRegistryClient() {
            @Override
            public int register(String subject, Schema schema) {
                return idsBySubject.get(subject);
            }

            @Override
            public Schema schemaById(int id) {
                return UsageEvent.getClassSchema();
            }
        };
        AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(registry, false);
        UsageEvent small = sampleEvent();
        UsageEvent large = sampleEvent();
        large.setDescription("d".repeat(100_000));
        AvroDeserializer<UsageEvent> deserializer = new AvroDeserializer<>(UsageEvent.class, registry);

        for (String topic : new String[] {"usage-events", "usage-events-dlq", "usage-events", "usage-events"}) {
            for (UsageEvent event : new UsageEvent[] {small, large, small}) {
                byte[] bytes = serializer.serialize(topic, event);
                assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).as(topic).isEqualTo(idsBySubject.get(topic + "-value"));
                assertThat(deserializer.deserialize(topic, bytes)).isEqualTo(event);
            }
        }
        byte[][] fromAnotherThread = new byte[1][];
        Thread other = new Thread(() -> fromAnotherThread[0] = serializer.serialize("usage-events", large));
        other.start();
        other.join();
        assertThat(fromAnotherThread[0]).isEqualTo(serializer.serialize("usage-events", large));
    }

    @Test
    void roundTripKeepsEveryFieldExactly() {
        SchemaRegistryClient registry = InMemorySchemaRegistry.named("roundtrip-" + UUID.randomUUID());
        UsageEvent event = sampleEvent();
        event.setQuantity(new BigDecimal("12345678901234567890123456.123456789012"));
        event.setValueType(ValueType.ABSOLUTE);

        byte[] bytes = new AvroSerializer<UsageEvent>(registry, false).serialize("usage-events", event);
        UsageEvent read = new AvroDeserializer<>(UsageEvent.class, registry).deserialize("usage-events", bytes);

        assertThat(read).isEqualTo(event);
        assertThat(read.getQuantity()).isEqualByComparingTo("12345678901234567890123456.123456789012");
    }

    @Test
    void readsARecordWrittenWithTheOlderSchemaVersion() throws Exception {
        SchemaRegistryClient registry = InMemorySchemaRegistry.named("versions-" + UUID.randomUUID());
        Schema v1;
        try (InputStream in = getClass().getResourceAsStream("/avro/UsageEvent-v1.avsc")) {
            v1 = new Schema.Parser().parse(in);
        }
        int v1Id = registry.register("usage-events-value", v1);
        GenericRecord old = new GenericData.Record(v1);
        old.put("event_id", "old-1");
        old.put("billing_account_id", "acct-9");
        old.put("feature_code", "storage");
        Schema quantitySchema = v1.getField("quantity").schema();
        old.put("quantity", new Conversions.DecimalConversion().toBytes(
                new BigDecimal("2.500000000000"), quantitySchema, LogicalTypes.decimal(38, 12)));
        old.put("value_type", new GenericData.EnumSymbol(v1.getField("value_type").schema(), "ABSOLUTE"));
        old.put("event_time", NEW_YEAR_2026.toEpochMilli());
        old.put("received_at", NEW_YEAR_2026.toEpochMilli());

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        out.write(ByteBuffer.allocate(4).putInt(v1Id).array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(v1).write(old, encoder);
        encoder.flush();

        UsageEvent read = new AvroDeserializer<>(UsageEvent.class, registry).deserialize("usage-events", out.toByteArray());

        assertThat(read.getEventId()).isEqualTo("old-1");
        assertThat(read.getQuantity()).isEqualByComparingTo("2.5");
        assertThat(read.getValueType()).isEqualTo(ValueType.ABSOLUTE);
        assertThat(read.getEventTime()).isEqualTo(NEW_YEAR_2026);
        assertThat(read.getMetadata()).as("field added later takes its default").isNull();
        assertThat(read.getOrigin()).isNull();
        assertThat(read.getOrgId()).as("old producers' events belong to the default tenant").isNull();
        assertThat(read.getIdSpace()).as("and to the native id space").isEqualTo(dev.metering.avro.IdSpace.NATIVE);
        assertThat(read.getRevertsEventId()).as("old producers' events are usages, not reverts").isNull();
    }

    @Test
    void refusesBytesThatAreNotTheWireFormat() {
        SchemaRegistryClient registry = InMemorySchemaRegistry.named("bad-" + UUID.randomUUID());
        AvroDeserializer<UsageEvent> deserializer = new AvroDeserializer<>(UsageEvent.class, registry);
        byte[] good = new AvroSerializer<UsageEvent>(registry, false).serialize("usage-events", sampleEvent());

        assertThatThrownBy(() -> deserializer.deserialize("usage-events", "{\"json\":1}".getBytes()))
                .isInstanceOf(SerializationException.class).hasMessageContaining("magic byte");
        assertThatThrownBy(() -> deserializer.deserialize("usage-events", new byte[] {0, 0, 0}))
                .isInstanceOf(SerializationException.class).hasMessageContaining("too short");
        assertThatThrownBy(() -> deserializer.deserialize("usage-events", new byte[] {0, 0x7f, 0, 0, 1, 2}))
                .isInstanceOf(SerializationException.class).hasMessageContaining("schema 2130706433");
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 4);
        assertThatThrownBy(() -> deserializer.deserialize("usage-events", truncated))
                .isInstanceOf(SerializationException.class).hasMessageContaining("Corrupt Avro data");
        byte[] trailing = java.util.Arrays.copyOf(good, good.length + 3);
        assertThatThrownBy(() -> deserializer.deserialize("usage-events", trailing))
                .isInstanceOf(SerializationException.class).hasMessageContaining("trailing bytes");
    }

    @Test
    void inMemoryIdsAgreeAcrossRegistriesSoSeparateProcessesInteroperate() {
        SchemaRegistryClient first = InMemorySchemaRegistry.named("a-" + UUID.randomUUID());
        SchemaRegistryClient second = InMemorySchemaRegistry.named("b-" + UUID.randomUUID());
        int id = first.register("usage-events-value", UsageEvent.getClassSchema());
        assertThat(second.register("usage-events-value", UsageEvent.getClassSchema())).isEqualTo(id);
        assertThat(first.register("usage-events-value", new Schema.Parser().parse(UsageEvent.getClassSchema().toString())))
                .as("an equal schema registered again (the cached path)").isEqualTo(id);
        assertThat(first.register("usage-rollups-key", RollupKey.getClassSchema())).isNotEqualTo(id);
        assertThat(SchemaRegistryClient.forUrl("mem://same")).isSameAs(SchemaRegistryClient.forUrl("mem://same"));

        // A reader in another process that never registered UsageEvent still decodes it.
        byte[] bytes = new AvroSerializer<UsageEvent>(first, false).serialize("usage-events", sampleEvent());
        SchemaRegistryClient otherProcess = new InMemorySchemaRegistry();
        assertThat(new AvroDeserializer<>(UsageEvent.class, otherProcess).deserialize("usage-events", bytes)).isEqualTo(sampleEvent());
    }

    static UsageEvent sampleEvent() {
        return UsageEvent.newBuilder()
                .setEventId("e1")
                .setBillingAccountId("acct-1")
                .setFeatureCode("api")
                .setQuantity(new BigDecimal("1.500000000000"))
                .setValueType(ValueType.DELTA)
                .setEventTime(NEW_YEAR_2026.plusSeconds(3600))
                .setReceivedAt(NEW_YEAR_2026.plusSeconds(3660))
                .setMetadata(Map.of("k", "v"))
                .setOrigin("kinde")
                .build();
    }
}
