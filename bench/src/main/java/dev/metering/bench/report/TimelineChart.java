package dev.metering.bench.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.HorizontalAlignment;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * {@code timeline.png}/{@code .svg}: the run's per-second samples as small multiples, one panel per phase with its
 * own time axis (seconds since the run started), so a 3-second phase fills its panel instead of being a sliver of
 * the whole run. Each panel shows events/s on top and, where the phase measures latency, p50 and p99 below. A phase
 * with a single figure (Kafka's tools report one rate for the whole phase) is one bar.
 */
final class TimelineChart {
    static final int COLUMNS = 3;
    static final int PANEL_WIDTH = 460;
    static final int PANEL_HEIGHT = 300;
    static final int HEADER_HEIGHT = 104;
    static final Color RATE_COLOUR = new Color(0x1f77b4);
    static final Color P50_COLOUR = new Color(0x2ca02c);
    static final Color P99_COLOUR = new Color(0xd62728);
    private static final DecimalFormat NUMBER = new DecimalFormat("#,##0.###", DecimalFormatSymbols.getInstance(Locale.ROOT));

    private TimelineChart() {
    }

    /** The samples by phase, phases in the order they first appear. */
    static Map<String, List<Timeline.Sample>> phases(List<Timeline.Sample> samples) {
        Map<String, List<Timeline.Sample>> phases = new LinkedHashMap<>();
        for (Timeline.Sample sample : samples == null ? List.<Timeline.Sample>of() : samples) {
            phases.computeIfAbsent(sample.phase(), phase -> new ArrayList<>()).add(sample);
        }
        return phases;
    }

    static int width() {
        return COLUMNS * PANEL_WIDTH;
    }

    static int height(int phases) {
        int rows = Math.max(1, (phases + COLUMNS - 1) / COLUMNS);
        return HEADER_HEIGHT + rows * PANEL_HEIGHT;
    }

    static Charts.Drawing drawing(Results results) {
        Map<String, List<Timeline.Sample>> phases = phases(results.timeline());
        int width = width();
        int height = height(phases.size());
        return new Charts.Drawing() {
            @Override
            public int width() {
                return width;
            }

            @Override
            public int height() {
                return height;
            }

            @Override
            public void draw(Graphics2D g2) {
                Charts.header(g2, width, height, "Metering benchmark: per-second samples by phase", results,
                        "One panel per phase, each with its own time axis (seconds since the run started). Top: events/s "
                                + "(records/s for Kafka's tools);\nbottom: latency p50 and p99 in ms where the phase measures it. "
                                + "A phase measured as one figure is one bar.");
                if (phases.isEmpty()) {
                    TextTitle none = new TextTitle("This run recorded no per-second samples.", Charts.SUBTITLE_FONT);
                    none.draw(g2, new Rectangle2D.Double(0, HEADER_HEIGHT, width, PANEL_HEIGHT));
                    return;
                }
                int index = 0;
                for (Map.Entry<String, List<Timeline.Sample>> phase : phases.entrySet()) {
                    int column = index % COLUMNS;
                    int row = index / COLUMNS;
                    chart(phase.getKey(), phase.getValue()).draw(g2, new Rectangle2D.Double(column * PANEL_WIDTH,
                            HEADER_HEIGHT + row * PANEL_HEIGHT, PANEL_WIDTH, PANEL_HEIGHT));
                    index++;
                }
            }
        };
    }

    static JFreeChart chart(String phase, List<Timeline.Sample> samples) {
        Font tickFont = new Font(Font.SANS_SERIF, Font.PLAIN, 10);
        Font labelFont = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
        NumberAxis time = new NumberAxis("s since the run started");
        time.setAutoRangeIncludesZero(false);
        time.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        time.setTickLabelFont(tickFont);
        time.setLabelFont(labelFont);
        double first = samples.get(0).seconds();
        double last = samples.get(samples.size() - 1).seconds();
        if (last - first < 1) {
            time.setRange(first - 1, last + 1);
        } else {
            time.setRange(first - 0.5, last + 0.5);
        }
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(time);
        plot.setGap(12);

        XYSeries rate = new XYSeries("events/s", false, true);
        XYSeries p50 = new XYSeries("p50 ms", false, true);
        XYSeries p99 = new XYSeries("p99 ms", false, true);
        for (Timeline.Sample sample : samples) {
            rate.add(sample.seconds(), sample.eventsPerSecond());
            if (sample.p50Millis() != null) {
                p50.add(sample.seconds(), sample.p50Millis());
            }
            if (sample.p99Millis() != null) {
                p99.add(sample.seconds(), sample.p99Millis());
            }
        }
        NumberAxis rateAxis = new NumberAxis("events/s");
        rateAxis.setAutoRangeIncludesZero(true);
        rateAxis.setNumberFormatOverride(NUMBER);
        rateAxis.setTickLabelFont(tickFont);
        rateAxis.setLabelFont(labelFont);
        XYSeriesCollection rates = new XYSeriesCollection(rate);
        XYPlot ratePlot = subplot(rates, rateAxis, RATE_COLOUR);
        if (samples.size() == 1) {
            // One figure for the whole phase: a bar, which a lone point on an empty panel is easy to miss as.
            rates.setIntervalWidth(0.6);
            XYBarRenderer bar = new XYBarRenderer();
            bar.setBarPainter(new StandardXYBarPainter());
            bar.setShadowVisible(false);
            bar.setSeriesPaint(0, RATE_COLOUR);
            ratePlot.setRenderer(bar);
        }
        plot.add(ratePlot, 1);

        XYSeriesCollection latency = new XYSeriesCollection();
        if (!p50.isEmpty()) {
            latency.addSeries(p50);
        }
        if (!p99.isEmpty()) {
            latency.addSeries(p99);
        }
        if (latency.getSeriesCount() > 0) {
            ValueAxis latencyAxis = latencyAxis(latency);
            latencyAxis.setTickLabelFont(tickFont);
            latencyAxis.setLabelFont(labelFont);
            Color[] colours = latency.getSeriesCount() == 2 ? new Color[] {P50_COLOUR, P99_COLOUR}
                    : new Color[] {p50.isEmpty() ? P99_COLOUR : P50_COLOUR};
            plot.add(subplot(latency, latencyAxis, colours), 1);
        }

        JFreeChart chart = new JFreeChart(phase, new Font(Font.SANS_SERIF, Font.BOLD, 13), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        chart.setPadding(new RectangleInsets(4, 6, 4, 10));
        TextTitle summary = new TextTitle(summary(samples), new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        summary.setPaint(Color.DARK_GRAY);
        chart.addSubtitle(summary);
        LegendTitle legend = chart.getLegend();
        legend.setPosition(RectangleEdge.BOTTOM);
        legend.setFrame(BlockBorder.NONE);
        legend.setItemFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        return chart;
    }

    /** "3 samples, median 14,867 events/s", or the one figure of a phase measured as a whole. */
    static String summary(List<Timeline.Sample> samples) {
        if (samples.size() == 1) {
            return "one figure for the whole phase: " + MarkdownReport.number(samples.get(0).eventsPerSecond())
                    + (samples.get(0).phase().startsWith("reference") ? " records/s" : " events/s");
        }
        double[] rates = samples.stream().mapToDouble(Timeline.Sample::eventsPerSecond).sorted().toArray();
        double median = rates.length % 2 == 1 ? rates[rates.length / 2] : (rates[rates.length / 2 - 1] + rates[rates.length / 2]) / 2;
        return samples.size() + " samples, median " + MarkdownReport.number(median) + " events/s";
    }

    private static XYPlot subplot(XYSeriesCollection data, ValueAxis axis, Color... colours) {
        XYLineAndShapeRenderer lines = new XYLineAndShapeRenderer(true, true);
        for (int series = 0; series < colours.length; series++) {
            lines.setSeriesPaint(series, colours[series]);
            lines.setSeriesStroke(series, new BasicStroke(1.8f));
            lines.setSeriesShape(series, new Ellipse2D.Double(-3, -3, 6, 6));
        }
        XYPlot plot = new XYPlot(data, null, axis, lines);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xe0e0e0));
        plot.setRangeGridlinePaint(new Color(0xe0e0e0));
        plot.setOutlinePaint(new Color(0x999999));
        return plot;
    }

    /** Logarithmic when p50 and p99 span a decade or more, otherwise linear from zero. */
    private static ValueAxis latencyAxis(XYSeriesCollection latency) {
        double min = Double.MAX_VALUE;
        double max = 0;
        for (int series = 0; series < latency.getSeriesCount(); series++) {
            for (int item = 0; item < latency.getItemCount(series); item++) {
                double value = latency.getYValue(series, item);
                if (value > 0) {
                    min = Math.min(min, value);
                    max = Math.max(max, value);
                }
            }
        }
        if (max > 0 && max / min >= 10) {
            LogAxis axis = new LogAxis("ms (log)");
            axis.setRange(Math.pow(10, Math.floor(Math.log10(min))), Math.pow(10, Math.ceil(Math.log10(max))));
            axis.setTickUnit(new NumberTickUnit(1));
            axis.setNumberFormatOverride(NUMBER);
            return axis;
        }
        NumberAxis axis = new NumberAxis("ms");
        axis.setAutoRangeIncludesZero(true);
        axis.setNumberFormatOverride(NUMBER);
        return axis;
    }
}
