package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.metering.avro.UsageEvent;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.ops.auth.ApiKey;
import dev.metering.ingest.auth.FrontierCredential;
import dev.metering.ingest.auth.KindeJwtSettings;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.awaitility.Awaitility;

/**
 * An ingest API with one credential of each kind, an HTTP client, and where its events go: either (for the ITs,
 * {@code new IngestFixture()}) a real broker with a one-partition {@code usage-events} topic, so "nothing was produced"
 * can be proven by offsets (a later acknowledged marker event lands after anything produced before it); or (for the
 * HTTP contract tests, {@link #withoutBroker()}) a {@link FakePublisher} that keeps what it was given. "Offsets" and
 * "records" then count the events the fake was given, keyed as Kafka's publisher keys them.
 */
final class IngestFixture implements AutoCloseable {
    static final String ISSUER = "https://metering-test.kinde.com";
    static final String AUDIENCE = "https://api.metering.test";
    static final String FRONTIER_USER = "frontier-app";
    static final String FRONTIER_SECRET = "s3cret:with:colons";
    static final String API_KEY = "native-key-123";

    /** Null without a broker. */
    final EmbeddedKafka kafka;
    /** Null with a broker. */
    final FakePublisher fake;
    final String registryUrl = "mem://ingest-it-" + UUID.randomUUID();
    final RSAKey signingKey;
    /** One of each for every test: e2e's RevertIT and FrontierRevertIT, which run an API of their own, post through the static {@link #post(IngestApi, String, String, String...)}. */
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    final List<IngestApi> apis = new ArrayList<>();
    IngestApi api;

    /** True when this fixture started the broker (and stops it on close). */
    private final boolean ownBroker;

    /** A broker of its own, for tests that stop it. */
    IngestFixture() {
        this(EmbeddedKafka.start(), true);
    }

    /**
     * The test run's shared broker ({@code SharedKafka}): tests that share it tell their events apart by their ids, and
     * "nothing produced" stays provable by offsets because test classes run one after another.
     */
    IngestFixture(EmbeddedKafka sharedBroker) {
        this(sharedBroker, false);
    }

    /** No broker: the APIs publish to one {@link FakePublisher}. */
    static IngestFixture withoutBroker() {
        return new IngestFixture(null, false);
    }

    private IngestFixture(EmbeddedKafka broker, boolean ownBroker) {
        signingKey = SIGNING_KEY;
        this.ownBroker = ownBroker;
        kafka = broker;
        if (broker == null) {
            fake = new FakePublisher();
            api = startApi(config());
            return;
        }
        fake = null;
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            if (!admin.listTopics().names().get(60, TimeUnit.SECONDS).contains(Topics.USAGE_EVENTS)) {
                admin.createTopics(List.of(new NewTopic(Topics.USAGE_EVENTS, 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            if (ownBroker) {
                kafka.close();
            }
            throw new IllegalStateException("Could not create the topic", e);
        }
        api = startApi(config());
    }

    /** One key for all fixtures of a run: generating an RSA key takes a while. */
    private static final RSAKey SIGNING_KEY = generateKey();

    static RSAKey generateKey() {
        try {
            return new RSAKeyGenerator(2048).keyID("test-key").generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    IngestApiConfig config() {
        return IngestApiConfig.defaults(kafka == null ? "127.0.0.1:1" : kafka.bootstrapServers(), registryUrl)
                .withHttp("127.0.0.1", 0)
                .withCredentials(
                        List.of(new FrontierCredential(FRONTIER_USER, FRONTIER_SECRET, Set.of("org-1", "org-2"))),
                        new KindeJwtSettings(null, signingKey.toPublicJWK().toJSONString(), ISSUER, List.of(AUDIENCE)),
                        List.of(new ApiKey("tests", API_KEY)));
    }

    IngestApi startApi(IngestApiConfig config) {
        IngestApi started = create(config).start();
        apis.add(started);
        return started;
    }

    /** An API publishing where this fixture's APIs do (the broker or the fake), not started. */
    IngestApi create(IngestApiConfig config) {
        return fake == null ? new IngestApi(config)
                : new IngestApi(config, new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT),
                        java.time.Clock.systemUTC(), fake.backend());
    }

    // ---- HTTP

    record Response(int status, Map<String, List<String>> headers, String body, JsonNode json) {
        String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().get(0)).findFirst().orElse(null);
        }
    }

    Response post(String path, String body, String... headers) {
        return post(api, path, body, headers);
    }

    static Response post(IngestApi target, String path, String body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.port() + path))
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        boolean contentType = false;
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
            contentType |= headers[i].equalsIgnoreCase("Content-Type");
        }
        if (!contentType) {
            request.header("Content-Type", "application/json");
        }
        return send(request.build());
    }

    /**
     * A POST written byte by byte on a socket, for what {@link HttpClient} will not send as given: malformed
     * %-escapes in the path, header values that are not ASCII (it would replace them with '?').
     *
     * @param headers header lines as raw bytes, each without the line break
     */
    Response postRaw(IngestApi target, String requestTarget, List<byte[]> headers, String body) {
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", target.port())) {
            socket.setSoTimeout(60_000);
            java.io.ByteArrayOutputStream request = new java.io.ByteArrayOutputStream();
            request.writeBytes(("POST " + requestTarget + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + content.length + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            for (byte[] header : headers) {
                request.writeBytes(header);
                request.writeBytes(new byte[] {'\r', '\n'});
            }
            request.writeBytes(new byte[] {'\r', '\n'});
            request.writeBytes(content);
            socket.getOutputStream().write(request.toByteArray());
            socket.getOutputStream().flush();
            String raw = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int headEnd = raw.indexOf("\r\n\r\n");
            String head = raw.substring(0, headEnd);
            String responseBody = raw.substring(headEnd + 4);
            Map<String, List<String>> responseHeaders = new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            String[] lines = head.split("\r\n");
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                responseHeaders.computeIfAbsent(lines[i].substring(0, colon).strip(), k -> new ArrayList<>()).add(lines[i].substring(colon + 1).strip());
            }
            if (responseHeaders.getOrDefault("Transfer-Encoding", List.of()).contains("chunked")) {
                StringBuilder unchunked = new StringBuilder();
                String rest = responseBody;
                while (true) {
                    int lineEnd = rest.indexOf("\r\n");
                    int size = Integer.parseInt(rest.substring(0, lineEnd).strip(), 16);
                    if (size == 0) {
                        break;
                    }
                    unchunked.append(rest, lineEnd + 2, lineEnd + 2 + size);
                    rest = rest.substring(lineEnd + 2 + size + 2);
                }
                responseBody = unchunked.toString();
            }
            int status = Integer.parseInt(lines[0].split(" ")[1]);
            JsonNode parsed = responseHeaders.getOrDefault("Content-Type", List.of("")).get(0).startsWith("application/json")
                    ? JSON.readTree(responseBody) : null;
            return new Response(status, responseHeaders, responseBody, parsed);
        } catch (Exception e) {
            throw new IllegalStateException("raw HTTP request failed: " + requestTarget, e);
        }
    }

    static byte[] headerLine(String name, byte[] value) {
        byte[] prefix = (name + ": ").getBytes(StandardCharsets.ISO_8859_1);
        byte[] line = java.util.Arrays.copyOf(prefix, prefix.length + value.length);
        System.arraycopy(value, 0, line, prefix.length, value.length);
        return line;
    }

    Response get(IngestApi target, String path) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.port() + path)).timeout(Duration.ofSeconds(60)).GET().build());
    }

    private static Response send(HttpRequest request) {
        try {
            HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            JsonNode parsed = null;
            String type = response.headers().firstValue("Content-Type").orElse("");
            if (type.startsWith("application/json")) {
                parsed = JSON.readTree(response.body());
            }
            return new Response(response.statusCode(), response.headers().map(), response.body(), parsed);
        } catch (Exception e) {
            throw new IllegalStateException("HTTP request failed: " + request, e);
        }
    }

    static String basic(String user, String secret) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + secret).getBytes(StandardCharsets.UTF_8));
    }

    static String frontierAuth() {
        return basic(FRONTIER_USER, FRONTIER_SECRET);
    }

    // ---- tokens

    JWTClaimsSet.Builder validClaims() {
        return new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .audience(AUDIENCE)
                .subject("m2m-client-1")
                .expirationTime(Date.from(Instant.now().plusSeconds(600)))
                .issueTime(new Date())
                .claim("scp", List.of("create:meter_usage"));
    }

    String token(JWTClaimsSet claims) {
        return sign(claims, signingKey);
    }

    static String sign(JWTClaimsSet claims, RSAKey key) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(), claims);
            jwt.sign(new RSASSASigner(key));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    String bearer() {
        return "Bearer " + token(validClaims().build());
    }

    // ---- the topic

    long endOffset() {
        if (fake != null) {
            return fake.events().size();
        }
        try (KafkaConsumer<String, UsageEvent> consumer = consumer()) {
            TopicPartition partition = new TopicPartition(Topics.USAGE_EVENTS, 0);
            return consumer.endOffsets(List.of(partition), Duration.ofSeconds(60)).get(partition);
        }
    }

    /** The records from {@code from} up to the current end of the topic. */
    List<ConsumerRecord<String, UsageEvent>> readFrom(long from) {
        if (fake != null) {
            List<UsageEvent> events = fake.events();
            List<ConsumerRecord<String, UsageEvent>> records = new ArrayList<>();
            for (int i = (int) from; i < events.size(); i++) {
                records.add(new ConsumerRecord<>(Topics.USAGE_EVENTS, 0, i, dev.metering.ingest.kafka.KafkaEventPublisher.key(events.get(i)), events.get(i)));
            }
            return records;
        }
        TopicPartition partition = new TopicPartition(Topics.USAGE_EVENTS, 0);
        List<ConsumerRecord<String, UsageEvent>> records = new ArrayList<>();
        try (KafkaConsumer<String, UsageEvent> consumer = consumer()) {
            long end = consumer.endOffsets(List.of(partition), Duration.ofSeconds(60)).get(partition);
            consumer.assign(List.of(partition));
            consumer.seek(partition, from);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (consumer.position(partition) < end && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(records::add);
            }
            assertThat(consumer.position(partition)).as("consumed up to the end offset").isGreaterThanOrEqualTo(end);
        }
        return records;
    }

    /**
     * Proves the request before it produced nothing: an acknowledged marker event (same producer, same partition)
     * must be the only record since {@code before}. Without a broker: the fake was given nothing since.
     */
    void assertNothingProducedSince(long before) {
        if (fake != null) {
            assertThat(readFrom(before)).as("events published since").isEmpty();
            return;
        }
        String markerId = "marker-" + UUID.randomUUID();
        Response marker = post("/v1/events:batch", """
                {"events": [{"event_id": "%s", "billing_account_id": "marker", "feature_code": "marker", "quantity": 1}]}
                """.formatted(markerId), "X-Api-Key", API_KEY);
        assertThat(marker.status()).as(marker.body()).isEqualTo(200);
        List<ConsumerRecord<String, UsageEvent>> records = readFrom(before);
        assertThat(records).extracting(record -> record.value().getEventId()).containsExactly(markerId);
    }

    private KafkaConsumer<String, UsageEvent> consumer() {
        return new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000),
                new StringDeserializer(), new AvroDeserializer<>(UsageEvent.class, SchemaRegistryClient.forUrl(registryUrl)));
    }

    static void await(String what, BooleanSupplier condition) {
        Awaitility.await(what).atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(condition::getAsBoolean);
    }

    @Override
    public void close() {
        for (IngestApi started : apis) {
            started.close();
        }
        if (kafka != null && ownBroker) {
            kafka.close();
        }
    }
}
