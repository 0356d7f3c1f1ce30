package dev.metering.bench.report;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code results.md}: the headline chart, the run's machine, versions and settings, then one table per group of
 * figures, and a link to the timeline.
 */
public final class MarkdownReport {
    private MarkdownReport() {
    }

    public static String render(Results results) {
        StringBuilder md = new StringBuilder();
        md.append("# Metering benchmark (").append(results.mode()).append(", ").append(results.startedAt()).append(")\n\n");
        md.append("![Every figure next to its reference](comparison.png)\n\n");
        md.append("Every figure next to its reference: [comparison.png](comparison.png) ([SVG](comparison.svg)); ")
                .append("per-second samples, one panel per phase: [timeline.png](timeline.png) ([SVG](timeline.svg)).\n\n");
        Results.Machine machine = results.machine();
        md.append("| Machine | |\n|---|---|\n");
        row(md, "CPU", machine.cpu());
        row(md, "Cores", String.valueOf(machine.cores()));
        row(md, "Memory", String.format(Locale.ROOT, "%.1f GiB", machine.memoryBytes() / (1024.0 * 1024 * 1024)));
        row(md, "OS", machine.os() + " (" + machine.arch() + ")");
        row(md, "Benchmark JVM heap (max)", String.format(Locale.ROOT, "%.1f GiB", machine.benchmarkMaxHeapBytes() / (1024.0 * 1024 * 1024)));
        Results.Versions versions = results.versions();
        row(md, "Metering", versions.metering());
        row(md, "Java", versions.java());
        row(md, "Kafka", versions.kafka());
        row(md, "PostgreSQL", versions.postgres());
        md.append('\n');

        md.append("| Setting | Value |\n|---|---|\n");
        results.settings().forEach((name, value) -> row(md, name, String.valueOf(value)));
        if (results.serviceOverrides().isEmpty()) {
            row(md, "Service settings", "defaults");
        } else {
            results.serviceOverrides().forEach((name, value) -> row(md, name, value));
        }
        md.append('\n');

        Map<String, List<Results.Figure>> groups = new LinkedHashMap<>();
        for (Results.Figure figure : results.figures()) {
            groups.computeIfAbsent(figure.group(), group -> new ArrayList<>()).add(figure);
        }
        groups.forEach((group, figures) -> {
            md.append("## ").append(group).append("\n\n");
            md.append("| Figure | Ours | Reference | Reference value | Ratio |\n|---|---:|---|---:|---:|\n");
            for (Results.Figure figure : figures) {
                md.append("| ").append(figure.name())
                        .append(" | ").append(number(figure.value())).append(' ').append(figure.unit())
                        .append(" | ").append(figure.reference() == null ? "–" : figure.reference())
                        .append(" | ").append(figure.referenceValue() == null ? "–" : number(figure.referenceValue()) + " " + figure.unit())
                        .append(" | ").append(figure.ratio() == null ? "–" : ratio(figure.ratio()))
                        .append(" |\n");
            }
            md.append('\n');
        });
        md.append("Ratios are ours ÷ reference: above 1 is better for rates, below 1 is better for latencies.\n");
        md.append("Throughput and latency of each phase, second by second: [timeline.png](timeline.png) ([SVG](timeline.svg)).\n");
        return md.toString();
    }

    private static void row(StringBuilder md, String name, String value) {
        md.append("| ").append(name).append(" | ").append(value.replace("|", "\\|")).append(" |\n");
    }

    /** Two decimals, or two significant digits below 0.1, so a ratio of 0.003 does not show as 0.00. */
    static String ratio(double ratio) {
        return ratio >= 0.1 || ratio == 0 ? String.format(Locale.ROOT, "%.2f×", ratio) : new BigDecimal(ratio)
                .round(new MathContext(2)).toPlainString() + "×";
    }

    static String number(double value) {
        if (value >= 100) {
            return String.format(Locale.ROOT, "%,.0f", value);
        }
        if (value >= 10) {
            return String.format(Locale.ROOT, "%.1f", value);
        }
        return String.format(Locale.ROOT, "%.2f", value);
    }
}
