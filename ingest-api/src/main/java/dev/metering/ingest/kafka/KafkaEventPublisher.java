package dev.metering.ingest.kafka;

import dev.metering.avro.UsageEvent;
import dev.metering.ingest.publish.EventPublisher;
import dev.metering.ingest.publish.PublishFailure;
import dev.metering.schemas.Topics;
import dev.metering.schemas.Verdict;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroSerializer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces usage events to {@code usage-events} (key = billing account id, {@link #key}) with an idempotent producer
 * and {@code acks=all}. {@link #publish} completes when the broker has acknowledged every event, or fails with a
 * {@link PublishFailure} once one of them failed or the delivery timeout passed; it never blocks the caller. Ready
 * when the broker answers and {@code usage-events} exists ({@link KafkaReadiness}).
 */
public final class KafkaEventPublisher implements EventPublisher {
    private static final byte[] VERDICT_REQUESTED = "1".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    private final KafkaProducer<String, UsageEvent> producer;
    private final Duration deliveryTimeout;
    /**
     * {@code send} blocks while the producer has no metadata for the topic (broker unreachable since start),
     * for up to {@code max.block.ms}; it runs here so HTTP threads never wait on Kafka.
     */
    private final ExecutorService sender;
    private final Consumer<Throwable> errorListener;
    private final AtomicInteger pending = new AtomicInteger();
    private final KafkaReadiness readiness;

    public KafkaEventPublisher(String bootstrapServers, SchemaRegistryClient registry, Duration deliveryTimeout, Duration linger,
                               Consumer<Throwable> errorListener) {
        this.deliveryTimeout = deliveryTimeout;
        this.errorListener = errorListener;
        long lingerMs = linger.toMillis();
        long deliveryMs = deliveryTimeout.toMillis();
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "ingest-api");
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        config.put(ProducerConfig.LINGER_MS_CONFIG, (int) lingerMs);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) deliveryMs);
        // delivery.timeout.ms must be >= linger.ms + request.timeout.ms
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(30_000, deliveryMs - lingerMs));
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, deliveryMs);
        config.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
        producer = new KafkaProducer<>(config, new StringSerializer(), new AvroSerializer<>(registry, false));
        AtomicInteger threads = new AtomicInteger();
        sender = Executors.newFixedThreadPool(2, runnable -> {
            Thread thread = new Thread(runnable, "ingest-kafka-send-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        readiness = new KafkaReadiness(bootstrapServers, Duration.ofSeconds(5), Duration.ofSeconds(3));
    }

    /** The record key of an event: its billing account, so one account's events keep their order in one partition. */
    public static String key(UsageEvent event) {
        return event.getBillingAccountId();
    }

    @Override
    public String notReadyReason() {
        return readiness.notReadyReason();
    }

    @Override
    public int pendingRequests() {
        return pending.get();
    }

    /**
     * Completes when all events are acknowledged by the broker (in-sync replicas included); with {@code requestVerdicts} each record carries {@link Verdict#REQUESTED_HEADER}, so the
     * aggregator writes its verdict on the usage to {@code usage-verdicts} (reverts always get one).
     */
    @Override
    public CompletableFuture<Void> publish(List<UsageEvent> events, boolean requestVerdicts) {
        CompletableFuture<?>[] acks = new CompletableFuture<?>[events.size()];
        for (int i = 0; i < events.size(); i++) {
            acks[i] = new CompletableFuture<>();
        }
        long deadline = System.nanoTime() + deliveryTimeout.toNanos();
        try {
            sender.execute(() -> {
                for (int i = 0; i < events.size(); i++) {
                    UsageEvent event = events.get(i);
                    CompletableFuture<?> ack = acks[i];
                    if (System.nanoTime() - deadline > 0) {
                        // The request has been (or is about to be) answered 503; sending now would only surprise.
                        ack.completeExceptionally(new TimeoutException("not handed to the Kafka producer within the delivery timeout"));
                        continue;
                    }
                    try {
                        ProducerRecord<String, UsageEvent> record = new ProducerRecord<>(Topics.USAGE_EVENTS, key(event), event);
                        if (requestVerdicts) {
                            record.headers().add(Verdict.REQUESTED_HEADER, VERDICT_REQUESTED);
                        }
                        producer.send(record, (metadata, error) -> {
                            if (error == null) {
                                ack.complete(null);
                            } else {
                                ack.completeExceptionally(error);
                            }
                        });
                    } catch (RuntimeException e) { // serialization, registry, metadata timeout, closed producer
                        ack.completeExceptionally(e);
                    }
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) { // closing
            errorListener.accept(e);
            return CompletableFuture.failedFuture(failure(e));
        }
        // A safety net: the producer fails records after delivery.timeout.ms on its own.
        pending.incrementAndGet();
        CompletableFuture<Void> acknowledged = new CompletableFuture<>();
        CompletableFuture.allOf(acks)
                .orTimeout(deliveryTimeout.toMillis() + 5_000, TimeUnit.MILLISECONDS)
                .whenComplete((ok, error) -> {
                    pending.decrementAndGet();
                    if (error == null) {
                        acknowledged.complete(null);
                    } else {
                        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
                        errorListener.accept(cause);
                        acknowledged.completeExceptionally(failure(cause));
                    }
                });
        return acknowledged;
    }

    private static PublishFailure failure(Throwable cause) {
        return new PublishFailure("Kafka did not acknowledge the events: " + cause, cause, cause instanceof RecordTooLargeException);
    }

    @Override
    public void close() {
        sender.shutdown();
        try {
            sender.awaitTermination(deliveryTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // flushes what is still buffered, so every request in flight gets its answer
        producer.close(deliveryTimeout);
        readiness.close();
    }
}
