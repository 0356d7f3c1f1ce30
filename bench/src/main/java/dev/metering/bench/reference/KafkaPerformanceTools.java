package dev.metering.bench.reference;

import dev.metering.bench.Progress;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kafka's own {@code ProducerPerformance} and {@code ConsumerPerformance} (from kafka-tools, the classes
 * behind {@code kafka-producer-perf-test.sh} and {@code kafka-consumer-perf-test.sh}), each run as a child
 * JVM against the benchmark's broker, their summary lines parsed.
 */
public final class KafkaPerformanceTools {
    /** ProducerPerformance's summary. */
    public record ProducerResult(long records, double recordsPerSecond, double megabytesPerSecond, double averageMillis,
                                 double maxMillis, double p50Millis, double p95Millis, double p99Millis, double p999Millis) {
    }

    /** ConsumerPerformance's summary; the rate includes joining the group, the fetch rate does not. */
    public record ConsumerResult(long records, double recordsPerSecond, double megabytesPerSecond, double rebalanceMillis,
                                 double fetchRecordsPerSecond) {
    }

    // "300000 records sent, 74701.2 records/sec (10.69 MB/sec), 961.99 ms avg latency, 1447.00 ms max latency,
    //  1116 ms 50th, 1410 ms 95th, 1429 ms 99th, 1445 ms 99.9th."
    private static final Pattern PRODUCER_SUMMARY = Pattern.compile(
            "(\\d+) records sent, ([\\d.]+) records/sec \\(([\\d.]+) MB/sec\\), ([\\d.]+) ms avg latency, ([\\d.]+) ms max latency, "
                    + "(\\d+) ms 50th, (\\d+) ms 95th, (\\d+) ms 99th, (\\d+) ms 99\\.9th\\.");

    private final String javaExecutable;
    private final String classPath;
    private final Progress progress;

    public KafkaPerformanceTools(Progress progress) {
        this.javaExecutable = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        this.classPath = System.getProperty("java.class.path");
        this.progress = progress;
    }

    /**
     * Sends {@code records} random payloads of {@code recordSize} bytes to {@code topic} at {@code throughput}
     * records/s (-1: as fast as it can) with the given producer properties.
     */
    public ProducerResult producer(String bootstrapServers, String topic, long records, int recordSize, long throughput,
                                   List<String> producerProperties) throws IOException, InterruptedException {
        List<String> arguments = new ArrayList<>(List.of("org.apache.kafka.tools.ProducerPerformance",
                "--topic", topic, "--num-records", String.valueOf(records), "--record-size", String.valueOf(recordSize),
                "--throughput", String.valueOf(throughput), "--producer-props", "bootstrap.servers=" + bootstrapServers));
        arguments.addAll(producerProperties);
        return parseProducer(run(arguments));
    }

    /** Reads {@code records} records of {@code topic} from its start, with a new consumer group. */
    public ConsumerResult consumer(String bootstrapServers, String topic, long records, String group)
            throws IOException, InterruptedException {
        return parseConsumer(run(List.of("org.apache.kafka.tools.ConsumerPerformance",
                "--bootstrap-server", bootstrapServers, "--topic", topic, "--messages", String.valueOf(records),
                "--group", group, "--timeout", "60000")));
    }

    static ProducerResult parseProducer(List<String> output) {
        for (int i = output.size() - 1; i >= 0; i--) {
            Matcher m = PRODUCER_SUMMARY.matcher(output.get(i));
            if (m.find()) {
                return new ProducerResult(Long.parseLong(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
                        Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5)), Double.parseDouble(m.group(6)),
                        Double.parseDouble(m.group(7)), Double.parseDouble(m.group(8)), Double.parseDouble(m.group(9)));
            }
        }
        throw new IllegalStateException("ProducerPerformance printed no summary line:\n" + String.join("\n", output));
    }

    // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    static ConsumerResult parseConsumer(List<String> output) {
        for (int i = 0; i < output.size() - 1; i++) {
            if (output.get(i).startsWith("start.time, end.time")) {
                String[] columns = output.get(i + 1).split(",\\s*");
                if (columns.length < 10) {
                    break;
                }
                return new ConsumerResult(Long.parseLong(columns[4]), Double.parseDouble(columns[5]), Double.parseDouble(columns[3]),
                        Double.parseDouble(columns[6]), Double.parseDouble(columns[9]));
            }
        }
        throw new IllegalStateException("ConsumerPerformance printed no summary line:\n" + String.join("\n", output));
    }

    private List<String> run(List<String> arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(javaExecutable, "-Xmx1g", "-cp", classPath));
        command.addAll(arguments);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> output = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                output.add(line);
                if (line.contains("records sent")) {
                    progress.line("%s", line); // ProducerPerformance reports every 5 s
                }
            }
        }
        int exit = process.waitFor();
        if (exit != 0) {
            throw new IllegalStateException(arguments.get(0) + " exited with " + exit + ":\n" + String.join("\n", output));
        }
        return output;
    }
}
