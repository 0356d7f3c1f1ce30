package dev.metering.ingest.kafka;

import dev.metering.schemas.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether Kafka is reachable and {@code usage-events} exists, checked in the background every few seconds so
 * {@code /health/ready} answers at once.
 */
public final class KafkaReadiness implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaReadiness.class);

    private final Admin admin;
    private final ScheduledExecutorService scheduler;
    private final Duration timeout;
    private volatile String notReadyReason = "Kafka not checked yet";

    public KafkaReadiness(String bootstrapServers, Duration interval, Duration timeout) {
        this.timeout = timeout;
        admin = Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.CLIENT_ID_CONFIG, "ingest-api-readiness",
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis(),
                AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000));
        scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "ingest-kafka-readiness");
            thread.setDaemon(true);
            return thread;
        });
        scheduler.scheduleWithFixedDelay(this::check, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Null when ready, otherwise why not. */
    public String notReadyReason() {
        return notReadyReason;
    }

    private void check() {
        String reason;
        String detail = null;
        try {
            admin.describeTopics(List.of(Topics.USAGE_EVENTS)).allTopicNames().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            reason = null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (Exception e) {
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
            // the answer names the kind of failure; its text (hosts, internals) goes to the log only
            reason = "Kafka: " + cause.getClass().getSimpleName();
            detail = cause.getMessage();
        }
        if (reason == null && notReadyReason != null) {
            LOG.info("Kafka is reachable; ready");
        } else if (reason != null && !reason.equals(notReadyReason)) {
            LOG.warn("Not ready: {} ({})", reason, detail);
        }
        notReadyReason = reason;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        admin.close(Duration.ofSeconds(5));
    }
}
