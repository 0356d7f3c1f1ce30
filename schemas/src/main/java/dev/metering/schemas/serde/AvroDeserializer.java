package dev.metering.schemas.serde;

import dev.metering.schemas.registry.SchemaRegistryClient;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Conversion;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads Confluent wire-format bytes into a specific Avro class. The writer's schema is fetched from
 * the registry by the id in the header and resolved against the class's schema, so records written
 * with an older compatible schema version read fine. Every failure is a {@link SerializationException}
 * that says what was wrong with the bytes.
 */
public class AvroDeserializer<T extends SpecificRecord> implements Deserializer<T> {
    private final Schema readerSchema;
    private SchemaRegistryClient registry;
    private final Map<Integer, DatumReader<T>> readersByWriterId = new ConcurrentHashMap<>();
    private final SpecificData model;

    public AvroDeserializer(Class<T> type) {
        this(type, null);
    }

    public AvroDeserializer(Class<T> type, SchemaRegistryClient registry) {
        this.readerSchema = SpecificData.get().getSchema(Objects.requireNonNull(type));
        this.model = readerModel(readerSchema, type.getClassLoader());
        this.registry = registry;
    }

    /**
     * The generated class's own model (its logical-type conversions) with Avro's fast reader on: it plans how to read a
     * writer schema into the class once, instead of resolving the two schemas field by field for every record, which
     * halved the time to read a usage event ({@code SerdeCostProbe}). Avro leaves it off unless
     * {@code -Dorg.apache.avro.fastread=true}; this is a copy, so the generated class's shared model stays as it is.
     */
    private static SpecificData readerModel(Schema schema, ClassLoader classLoader) {
        SpecificData model = new SpecificData(classLoader);
        for (Conversion<?> conversion : SpecificData.getForSchema(schema).getConversions()) {
            model.addLogicalTypeConversion(conversion);
        }
        model.setFastReaderEnabled(true);
        return model;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        if (registry == null) {
            registry = WireFormat.registryFrom(configs, getClass());
        }
    }

    @Override
    public T deserialize(String topic, byte[] data) {
        if (data == null) {
            return null;
        }
        if (registry == null) {
            throw new IllegalStateException(getClass().getSimpleName() + " is not configured with a schema registry");
        }
        if (data.length < WireFormat.HEADER_LENGTH) {
            throw new SerializationException("Record of " + data.length + " bytes is too short for the Confluent wire format (5-byte header)");
        }
        ByteBuffer buffer = ByteBuffer.wrap(data);
        byte magic = buffer.get();
        if (magic != WireFormat.MAGIC_BYTE) {
            throw new SerializationException("Unknown magic byte " + magic + "; expected 0 (Confluent wire format)");
        }
        int schemaId = buffer.getInt();
        DatumReader<T> reader;
        try {
            reader = readersByWriterId.computeIfAbsent(schemaId, id -> new SpecificDatumReader<>(registry.schemaById(id), readerSchema, model));
        } catch (RuntimeException e) {
            throw new SerializationException("Could not get writer schema " + schemaId + " for topic " + topic + ": " + e.getMessage(), e);
        }
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(data, WireFormat.HEADER_LENGTH, data.length - WireFormat.HEADER_LENGTH, null);
        try {
            T record = reader.read(null, decoder);
            if (!decoder.isEnd()) {
                throw new SerializationException("Record has " + (data.length - WireFormat.HEADER_LENGTH) + " bytes of Avro data but schema "
                        + schemaId + " used fewer; trailing bytes");
            }
            return record;
        } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | NegativeArraySizeException | ClassCastException e) {
            throw new SerializationException("Corrupt Avro data for schema " + schemaId + " (" + readerSchema.getFullName() + "): " + e.getMessage(), e);
        }
    }
}
