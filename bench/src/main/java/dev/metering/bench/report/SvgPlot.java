package dev.metering.bench.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;

/**
 * {@code timeline.svg}: events per second (top, linear) and p50/p99 latency (bottom, logarithmic, since
 * HTTP answers take milliseconds and freshness hundreds of them) over the run, one colour per phase.
 * Plain SVG text, so no plotting library is needed and any browser shows it.
 */
public final class SvgPlot {
    private static final int WIDTH = 1100;
    private static final int PANEL_HEIGHT = 260;
    private static final int LEFT = 80;
    private static final int RIGHT = 230;
    private static final int TOP = 40;
    private static final int GAP = 60;
    private static final String[] COLOURS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"};

    private SvgPlot() {
    }

    public static String render(String title, List<Timeline.Sample> samples) {
        Map<String, List<Timeline.Sample>> byPhase = new LinkedHashMap<>();
        samples.forEach(sample -> byPhase.computeIfAbsent(sample.phase(), phase -> new ArrayList<>()).add(sample));
        double maxSeconds = Math.max(1, samples.stream().mapToDouble(Timeline.Sample::seconds).max().orElse(1));
        double maxRate = niceCeiling(samples.stream().mapToDouble(Timeline.Sample::eventsPerSecond).max().orElse(1));
        double minLatency = samples.stream().map(Timeline.Sample::p50Millis).filter(v -> v != null && v > 0)
                .mapToDouble(Double::doubleValue).min().orElse(1);
        double maxLatency = samples.stream().map(Timeline.Sample::p99Millis).filter(v -> v != null && v > 0)
                .mapToDouble(Double::doubleValue).max().orElse(10);
        double lowDecade = Math.floor(Math.log10(Math.max(0.1, minLatency)));
        double highDecade = Math.max(lowDecade + 1, Math.ceil(Math.log10(maxLatency)));

        int plotWidth = WIDTH - LEFT - RIGHT;
        int rateTop = TOP;
        int latencyTop = TOP + PANEL_HEIGHT + GAP;
        int height = latencyTop + PANEL_HEIGHT + 50;
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n",
                WIDTH, height, WIDTH, height));
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>%n", LEFT, escape(title)));

        // axes and grid
        panel(svg, rateTop, plotWidth, "events / s");
        panel(svg, latencyTop, plotWidth, "latency, ms (log; solid p99, dashed p50)");
        for (int i = 0; i <= 4; i++) {
            double value = maxRate * i / 4;
            double y = rateTop + PANEL_HEIGHT - PANEL_HEIGHT * i / 4.0;
            gridLine(svg, y, plotWidth, String.format(Locale.ROOT, "%,.0f", value));
        }
        for (double decade = lowDecade; decade <= highDecade; decade++) {
            double y = latencyTop + PANEL_HEIGHT - PANEL_HEIGHT * (decade - lowDecade) / (highDecade - lowDecade);
            gridLine(svg, y, plotWidth, MarkdownReport.number(Math.pow(10, decade)));
        }
        for (int i = 0; i <= 10; i++) {
            double seconds = maxSeconds * i / 10;
            double x = LEFT + plotWidth * i / 10.0;
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f s</text>%n",
                    x, latencyTop + PANEL_HEIGHT + 18, seconds));
        }

        int colour = 0;
        int legendY = rateTop + 10;
        for (Map.Entry<String, List<Timeline.Sample>> phase : byPhase.entrySet()) {
            String stroke = COLOURS[colour++ % COLOURS.length];
            List<Timeline.Sample> points = phase.getValue();
            svg.append(polyline(points, stroke, "", sample -> sample.eventsPerSecond(),
                    value -> rateTop + PANEL_HEIGHT - PANEL_HEIGHT * Math.min(1, value / maxRate), maxSeconds, plotWidth));
            DoubleUnaryOperator latencyY = value -> latencyTop + PANEL_HEIGHT
                    - PANEL_HEIGHT * (Math.log10(Math.max(Math.pow(10, lowDecade), value)) - lowDecade) / (highDecade - lowDecade);
            svg.append(polyline(points, stroke, "", Timeline.Sample::p99Millis, latencyY, maxSeconds, plotWidth));
            svg.append(polyline(points, stroke, " stroke-dasharray=\"4 3\"", Timeline.Sample::p50Millis, latencyY, maxSeconds, plotWidth));
            svg.append(String.format(Locale.ROOT,
                    "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>%n",
                    WIDTH - RIGHT + 20, legendY, stroke, WIDTH - RIGHT + 38, legendY + 11, escape(phase.getKey())));
            legendY += 20;
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static String polyline(List<Timeline.Sample> points, String stroke, String extra,
                                   Function<Timeline.Sample, Double> value,
                                   DoubleUnaryOperator toY, double maxSeconds, int plotWidth) {
        StringBuilder coordinates = new StringBuilder();
        for (Timeline.Sample sample : points) {
            Double v = value.apply(sample);
            if (v == null) {
                continue;
            }
            double x = LEFT + plotWidth * sample.seconds() / maxSeconds;
            coordinates.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, toY.applyAsDouble(v)));
        }
        if (coordinates.length() == 0) {
            return "";
        }
        return String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"%s\"/>%n",
                stroke, extra, coordinates.toString().strip());
    }

    private static void panel(StringBuilder svg, int top, int plotWidth, String label) {
        svg.append(String.format(Locale.ROOT,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>%n", LEFT, top, plotWidth, PANEL_HEIGHT));
        svg.append(String.format(Locale.ROOT,
                "<text x=\"%d\" y=\"%d\" transform=\"rotate(-90 %d %d)\" text-anchor=\"middle\">%s</text>%n",
                18, top + PANEL_HEIGHT / 2, 18, top + PANEL_HEIGHT / 2, escape(label)));
    }

    private static void gridLine(StringBuilder svg, double y, int plotWidth, String label) {
        svg.append(String.format(Locale.ROOT,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                LEFT, y, LEFT + plotWidth, y, LEFT - 6, y + 4, escape(label)));
    }

    static double niceCeiling(double value) {
        if (value <= 0) {
            return 1;
        }
        double magnitude = Math.pow(10, Math.floor(Math.log10(value)));
        for (double step : new double[] {1, 2, 2.5, 5, 10}) {
            if (step * magnitude >= value) {
                return step * magnitude;
            }
        }
        return 10 * magnitude;
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
