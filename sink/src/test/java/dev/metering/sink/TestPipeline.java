package dev.metering.sink;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.ops.Env;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroSerializer;
import dev.metering.sink.store.BatchHooks;
import dev.metering.sink.store.HookedStores;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A real broker (the test run's shared one: tests use topics and groups of their own) and a real PostgreSQL, and
 * what the sink's integration tests do with them.
 */
final class TestPipeline implements AutoCloseable {
    static final String REGISTRY_URL = "mem://sink-it";

    final EmbeddedKafka kafka;
    final PostgresDatabase database;
    private final KafkaProducer<RollupKey, Rollup> producer;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** @param database the test class's database ({@link PostgresDatabase#ownServerForTests()} where it stops the server) */
    TestPipeline(EmbeddedKafka kafka, PostgresDatabase database) {
        this.kafka = kafka;
        this.database = database;
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl(REGISTRY_URL);
        Map<String, Object> properties = new HashMap<>();
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        properties.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "sink-it-" + UUID.randomUUID());
        properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000);
        properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
        producer = new KafkaProducer<>(properties, new AvroSerializer<>(registry, true), new AvroSerializer<>(registry, false));
        producer.initTransactions();
    }

    void createTopic(String topic, int partitions) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(60, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Produces the rollups in one transaction, as the aggregator does; returns how many went to each partition. */
    Map<Integer, Integer> produce(String topic, List<Rollup> rollups) {
        producer.beginTransaction();
        List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
        for (Rollup rollup : rollups) {
            sent.add(producer.send(new ProducerRecord<>(topic, Rollups.keyOf(rollup), rollup)));
        }
        producer.commitTransaction();
        Map<Integer, Integer> perPartition = new HashMap<>();
        for (var future : sent) {
            try {
                perPartition.merge(future.get().partition(), 1, Integer::sum);
            } catch (InterruptedException | ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }
        return perPartition;
    }

    /** Produces raw bytes (not a rollup), as a broken producer might. */
    void produceRaw(String topic, byte[] key, byte[] value) {
        try (KafkaProducer<byte[], byte[]> raw = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            raw.send(new ProducerRecord<>(topic, key, value)).get(60, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException(e);
        }
    }

    SinkConfig sinkConfig(String group, String topic, int batchSize) {
        Map<String, String> env = new HashMap<>();
        env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        env.put("SCHEMA_REGISTRY_URL", REGISTRY_URL);
        env.put("DATABASE_URL", database.jdbcUrl());
        env.put("DATABASE_USER", database.username());
        env.put("DATABASE_PASSWORD", database.password());
        env.put("SINK_GROUP_ID", group);
        env.put("SINK_TOPIC", topic);
        env.put("SINK_BATCH_SIZE", String.valueOf(batchSize));
        env.put("SINK_POLL_TIMEOUT", "200ms");
        env.put("SINK_HTTP_HOST", "127.0.0.1");
        env.put("SINK_HTTP_PORT", "0");
        env.put("SINK_INITIAL_BACKOFF", "100ms");
        env.put("SINK_MAX_BACKOFF", "1s");
        env.put("SINK_DB_CHECK_INTERVAL", "300ms");
        env.put("SINK_DB_CONNECT_TIMEOUT", "1s");
        env.put("METERING_TOPIC_PARTITIONS", "2");
        env.put("SINK_PERIOD_REFRESH_INTERVAL", "1s"); // so the background refresh runs during the tests
        return SinkConfig.fromEnv(new Env(env));
    }

    SinkService startSink(String group, String topic, int batchSize, BatchHooks hooks) {
        SinkService sink = new SinkService(sinkConfig(group, topic, batchSize),
                (dataSource, consumerGroup) -> HookedStores.withHooks(dataSource, consumerGroup, hooks));
        sink.start();
        return sink;
    }

    List<Map<String, Object>> query(String sql) {
        try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement();
             ResultSet result = statement.executeQuery(sql)) {
            List<Map<String, Object>> rows = new ArrayList<>();
            while (result.next()) {
                Map<String, Object> row = new HashMap<>();
                for (int i = 1; i <= result.getMetaData().getColumnCount(); i++) {
                    row.put(result.getMetaData().getColumnLabel(i), result.getObject(i));
                }
                rows.add(row);
            }
            return rows;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** (status, body) of GET http://127.0.0.1:port/path. */
    HttpResponse<String> get(int port, String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
        database.close();
    }
}
