package dev.metering.e2e;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * One service running as its own OS process (same classpath as the tests), so a test can SIGKILL it
 * mid-load the way a crash or an OOM killer would, or SIGTERM it the way an orchestrator stops it.
 */
final class ServiceProcess implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final String name;
    private final String mainClass;
    private final Map<String, String> environment;
    private final int healthPort;
    private final Path logFile;
    private Process process;

    ServiceProcess(String name, String mainClass, Map<String, String> environment, int healthPort, Path logDir) {
        this.name = name;
        this.mainClass = mainClass;
        this.environment = Map.copyOf(environment);
        this.healthPort = healthPort;
        this.logFile = logDir.resolve(name + ".log");
    }

    /** The value of a counter or gauge on the service's /metrics (Prometheus text), summed over its labels; 0 when absent. */
    double metric(String name) {
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + healthPort + "/metrics"))
                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return response.body().lines().filter(line -> line.startsWith(name + " ") || line.startsWith(name + "{"))
                    .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Starts the process and waits until its /health/ready answers 200. */
    ServiceProcess start() {
        launch();
        awaitReady(Duration.ofSeconds(120));
        return this;
    }

    /** Starts the process without waiting for it to be ready (several services start at once). */
    ServiceProcess launch() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        command.add("-XX:+UseSerialGC");
        command.add("-XX:TieredStopAtLevel=1"); // restarted often and short-lived: start-up CPU, not peak speed
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        builder.environment().putAll(environment);
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("Could not start " + name, e);
        }
        return this;
    }

    void awaitReady(Duration timeout) {
        try {
            Awaitility.await(name + " ready").atMost(timeout).pollInterval(Duration.ofMillis(250)).until(() -> {
                if (!process.isAlive()) {
                    throw new IllegalStateException(name + " exited with " + process.exitValue() + "; log: " + tail());
                }
                return ready();
            });
        } catch (ConditionTimeoutException e) {
            throw new IllegalStateException(name + " did not become ready within " + timeout + "; log: " + tail(), e);
        }
    }

    boolean ready() {
        try {
            HttpResponse<Void> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + healthPort + "/health/ready"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
            return response.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** SIGKILL: no shutdown hook, no flush, no commit. */
    void kill() {
        process.destroyForcibly();
        waitFor();
    }

    /** SIGTERM: the service's graceful shutdown runs. */
    int terminate() {
        process.destroy();
        return waitFor();
    }

    /** Resident memory of the process in bytes (Linux /proc), or -1 when unknown. */
    long residentBytes() {
        if (!isAlive()) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    private int waitFor() {
        try {
            return process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    String tail() {
        try {
            List<String> lines = Files.readAllLines(logFile);
            return String.join(System.lineSeparator(), lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        if (isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return name + " (" + mainClass + ")" + File.pathSeparator;
    }
}
