package dev.metering.bench.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MarkdownReportTest {

    @Test
    void showsEachFigureWithItsReferenceAndRatioAndMarksFiguresWithoutOne() {
        Results results = new Results("2026-11-23T18:00:00Z", "quick",
                new Results.Machine("Linux", "amd64", 2, "AMD EPYC", 24L << 30, 6L << 30),
                new Results.Versions("0.1.0", "OpenJDK 17", "4.1.0", "14.15"),
                Map.of("topic partitions", 3), Map.of("AGGREGATOR_COMMIT_INTERVAL", "PT1S"),
                List.of(Results.Figure.compared("HTTP ingest", "batch of 100: throughput", 18000, "events/s", "ProducerPerformance", 48000),
                        Results.Figure.compared("HTTP ingest", "Frontier: throughput", 119, "events/s", "ProducerPerformance", 35604),
                        Results.Figure.alone("HTTP ingest", "batch of 100: latency p50", 70.25, "ms")),
                Map.of(), List.of());

        String markdown = MarkdownReport.render(results);

        assertThat(markdown).contains("| Cores | 2 |", "| Kafka | 4.1.0 |", "| AGGREGATOR_COMMIT_INTERVAL | PT1S |", "## HTTP ingest")
                .contains("| batch of 100: throughput | 18,000 events/s | ProducerPerformance | 48,000 events/s | 0.38× |")
                .contains("| Frontier: throughput | 119 events/s | ProducerPerformance | 35,604 events/s | 0.0033× |")
                .contains("| batch of 100: latency p50 | 70.3 ms | – | – | – |")
                .contains("![Every figure next to its reference](comparison.png)", "[comparison.png](comparison.png) ([SVG](comparison.svg))",
                        "[timeline.png](timeline.png) ([SVG](timeline.svg))");
    }
}
