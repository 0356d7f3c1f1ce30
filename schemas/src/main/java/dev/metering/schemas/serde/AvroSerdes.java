package dev.metering.schemas.serde;

import dev.metering.schemas.registry.SchemaRegistryClient;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/** Kafka Serdes for the generated classes, in Confluent's wire format. */
public final class AvroSerdes {
    private AvroSerdes() {
    }

    public static <T extends SpecificRecord> Serde<T> valueSerde(Class<T> type, SchemaRegistryClient registry) {
        return Serdes.serdeFrom(new AvroSerializer<>(registry, false), new AvroDeserializer<>(type, registry));
    }

    public static <T extends SpecificRecord> Serde<T> keySerde(Class<T> type, SchemaRegistryClient registry) {
        return Serdes.serdeFrom(new AvroSerializer<>(registry, true), new AvroDeserializer<>(type, registry));
    }
}
