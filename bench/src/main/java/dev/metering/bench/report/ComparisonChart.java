package dev.metering.bench.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.geom.Rectangle2D;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.CategoryTextAnnotation;
import org.jfree.chart.axis.CategoryAnchor;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.HorizontalAlignment;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.CategoryDataset;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * {@code comparison.png}/{@code .svg}: every figure of the run next to its reference from the same run, as a pair of
 * horizontal bars, with the ratio (ours ÷ reference) printed at the right of each pair. Throughput and latency are
 * separate panels, each on a logarithmic axis when its values span a decade or more. Figures that name a traffic
 * shape ("uniform", "skewed") are placed next to their other-shape twin. Figures without a reference (the analyst
 * queries) get a small panel of their own below; figures in other units (the drain's CPU µs per event) are left out.
 */
final class ComparisonChart {
    static final int WIDTH = 1400;
    static final int HEADER_HEIGHT = 104;
    /** Height of one figure's row: two bars and up to three lines of label. */
    static final int COMPARED_ROW = 46;
    static final int ALONE_ROW = 26;
    /** A panel's title, value axis and legend. */
    static final int PANEL_CHROME = 100;
    static final int GAP = 12;
    static final String OURS = "ours (metering)";
    static final String REFERENCE = "reference (named under each figure)";
    static final Color OURS_COLOUR = new Color(0x1f77b4);
    static final Color REFERENCE_COLOUR = new Color(0xa6a6a6);
    /** The share of the value axis the bars use; the rest holds the value labels and the ratios. */
    private static final double DATA_SHARE = 0.72;
    private static final Pattern SHAPE = Pattern.compile("\\b(uniform|skewed)\\b", Pattern.CASE_INSENSITIVE);

    private ComparisonChart() {
    }

    enum Kind {
        THROUGHPUT("Throughput", "higher is better"),
        LATENCY("Latency", "lower is better");

        final String title;
        final String better;

        Kind(String title, String better) {
            this.title = title;
            this.better = better;
        }

        /** Rates ("events/s", "records/s") and milliseconds; null for any other unit, which the chart leaves out. */
        static Kind of(String unit) {
            if (unit == null) {
                return null;
            }
            if (unit.endsWith("/s")) {
                return THROUGHPUT;
            }
            return unit.equals("ms") ? LATENCY : null;
        }
    }

    /**
     * One panel: its figures in the order drawn, and the data set the bars are drawn from (row keys {@link #OURS}
     * and, for compared panels, {@link #REFERENCE}; column keys {@link #label}).
     */
    record Panel(Kind kind, boolean compared, List<Results.Figure> figures, DefaultCategoryDataset dataset) {
        String title() {
            return compared
                    ? kind.title + ": ours next to the reference (" + kind.better + "; the ratio ours ÷ reference on the right)"
                    : kind.title + " without a reference (" + kind.better + ")";
        }

        int height() {
            return PANEL_CHROME + figures.size() * (compared ? COMPARED_ROW : ALONE_ROW);
        }
    }

    /**
     * The panels and their data sets: compared throughput, compared latency, then throughput and latency without a
     * reference; empty ones are left out. A figure is compared when it has a ratio and a positive reference value.
     */
    static List<Panel> panels(Results results) {
        List<Panel> panels = new ArrayList<>();
        for (boolean compared : new boolean[] {true, false}) {
            for (Kind kind : Kind.values()) {
                List<Results.Figure> figures = new ArrayList<>();
                for (Results.Figure figure : results.figures()) {
                    if (Kind.of(figure.unit()) == kind && compared(figure) == compared) {
                        figures.add(figure);
                    }
                }
                if (figures.isEmpty()) {
                    continue;
                }
                figures = shapesSideBySide(figures);
                DefaultCategoryDataset dataset = new DefaultCategoryDataset();
                for (Results.Figure figure : figures) {
                    dataset.addValue(figure.value(), OURS, label(figure));
                    if (compared) {
                        dataset.addValue(figure.referenceValue(), REFERENCE, label(figure));
                    }
                }
                panels.add(new Panel(kind, compared, List.copyOf(figures), dataset));
            }
        }
        return panels;
    }

    static boolean compared(Results.Figure figure) {
        return figure.ratio() != null && figure.referenceValue() != null && figure.referenceValue() > 0
                && Double.isFinite(figure.referenceValue()) && Double.isFinite(figure.ratio());
    }

    /**
     * The figures in their order, except that one naming a traffic shape moves up next to the first figure that
     * differs from it only by the shape, so uniform and skewed stand side by side.
     */
    static List<Results.Figure> shapesSideBySide(List<Results.Figure> figures) {
        Map<String, List<Results.Figure>> twins = new LinkedHashMap<>();
        for (Results.Figure figure : figures) {
            String key = SHAPE.matcher(figure.group() + "\n" + figure.name()).replaceAll("*").toLowerCase(Locale.ROOT);
            twins.computeIfAbsent(key, k -> new ArrayList<>()).add(figure);
        }
        return twins.values().stream().flatMap(List::stream).toList();
    }

    /** The bars' label: the group's short name, the figure, and what it is compared with. */
    static String label(Results.Figure figure) {
        String group = figure.group();
        int detail = group.indexOf(" (");
        String label = (detail > 0 ? group.substring(0, detail) : group) + " · " + figure.name();
        return compared(figure) ? label + "  vs " + figure.reference() : label;
    }

    static Charts.Drawing drawing(Results results) {
        List<Panel> panels = panels(results);
        int height = HEADER_HEIGHT + panels.stream().mapToInt(panel -> panel.height() + GAP).sum() + (panels.isEmpty() ? 200 : 0);
        return new Charts.Drawing() {
            @Override
            public int width() {
                return WIDTH;
            }

            @Override
            public int height() {
                return height;
            }

            @Override
            public void draw(Graphics2D g2) {
                Charts.header(g2, WIDTH, height, "Metering benchmark: ours next to the reference", results,
                        "Each pair of bars is one figure of results.md: ours (blue) and the reference measured in the same run (grey), "
                                + "ratio = ours ÷ reference.\nLog scale where a panel's values span a decade or more. Kafka's tools "
                                + "measure records/s, read as events/s.");
                if (panels.isEmpty()) {
                    TextTitle none = new TextTitle("This run measured no figures.", Charts.SUBTITLE_FONT);
                    none.draw(g2, new Rectangle2D.Double(0, HEADER_HEIGHT, WIDTH, 200));
                    return;
                }
                double y = HEADER_HEIGHT;
                for (Panel panel : panels) {
                    chart(panel).draw(g2, new Rectangle2D.Double(0, y, WIDTH, panel.height()));
                    y += panel.height() + GAP;
                }
            }
        };
    }

    static JFreeChart chart(Panel panel) {
        CategoryAxis categories = new CategoryAxis();
        categories.setMaximumCategoryLabelWidthRatio(0.42f);
        categories.setMaximumCategoryLabelLines(3);
        categories.setTickLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        categories.setCategoryMargin(panel.compared() ? 0.28 : 0.2);
        categories.setLowerMargin(0.01);
        categories.setUpperMargin(0.01);

        ValueAxis values = valueAxis(panel);
        BarRenderer bars = new BarRenderer();
        bars.setBarPainter(new StandardBarPainter());
        bars.setShadowVisible(false);
        bars.setDrawBarOutline(false);
        bars.setItemMargin(0.0);
        bars.setMaximumBarWidth(0.5);
        bars.setSeriesPaint(0, OURS_COLOUR);
        bars.setSeriesPaint(1, REFERENCE_COLOUR);
        bars.setDefaultItemLabelGenerator(new NumberLabels());
        bars.setDefaultItemLabelsVisible(true);
        bars.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        bars.setDefaultPositiveItemLabelPosition(new ItemLabelPosition(ItemLabelAnchor.OUTSIDE3, TextAnchor.CENTER_LEFT));

        CategoryPlot plot = new CategoryPlot(panel.dataset(), categories, values, bars);
        plot.setOrientation(PlotOrientation.HORIZONTAL);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlineStroke(new BasicStroke(1f));
        plot.setOutlineVisible(false);
        if (panel.compared()) {
            Font ratioFont = new Font(Font.SANS_SERIF, Font.BOLD, 13);
            for (Results.Figure figure : panel.figures()) {
                CategoryTextAnnotation ratio = new CategoryTextAnnotation(MarkdownReport.ratio(figure.ratio()), label(figure),
                        values.getUpperBound());
                ratio.setCategoryAnchor(CategoryAnchor.MIDDLE);
                ratio.setTextAnchor(TextAnchor.CENTER_RIGHT);
                ratio.setFont(ratioFont);
                plot.addAnnotation(ratio);
            }
        }

        JFreeChart chart = new JFreeChart(panel.title(), new Font(Font.SANS_SERIF, Font.BOLD, 14), plot, panel.compared());
        chart.setBackgroundPaint(Color.WHITE);
        chart.getTitle().setHorizontalAlignment(HorizontalAlignment.LEFT);
        chart.getTitle().setPadding(new RectangleInsets(4, 16, 4, 16));
        chart.setPadding(new RectangleInsets(0, 8, 0, 16));
        LegendTitle legend = chart.getLegend();
        if (legend != null) {
            legend.setPosition(RectangleEdge.TOP);
            legend.setHorizontalAlignment(HorizontalAlignment.LEFT);
            legend.setFrame(org.jfree.chart.block.BlockBorder.NONE);
            legend.setItemFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        }
        return chart;
    }

    /** Logarithmic when the panel's positive values span a decade or more, otherwise linear from zero. */
    static ValueAxis valueAxis(Panel panel) {
        double min = Double.MAX_VALUE;
        double max = 0;
        CategoryDataset dataset = panel.dataset();
        for (int row = 0; row < dataset.getRowCount(); row++) {
            for (int column = 0; column < dataset.getColumnCount(); column++) {
                Number value = dataset.getValue(row, column);
                if (value != null && value.doubleValue() > 0) {
                    min = Math.min(min, value.doubleValue());
                    max = Math.max(max, value.doubleValue());
                }
            }
        }
        Set<String> units = new LinkedHashSet<>();
        panel.figures().forEach(figure -> units.add(figure.unit()));
        String unit = String.join(" / ", units);
        if (max == 0) {
            NumberAxis axis = new NumberAxis(unit);
            axis.setRange(0, 1);
            return axis;
        }
        DecimalFormat format = new DecimalFormat("#,##0.###", DecimalFormatSymbols.getInstance(Locale.ROOT));
        if (max / min >= 10) {
            LogAxis axis = new LogAxis(unit + " (log scale)");
            double lower = Math.pow(10, Math.floor(Math.log10(min)));
            axis.setRange(lower, lower * Math.pow(max / lower, 1 / DATA_SHARE));
            axis.setTickUnit(new NumberTickUnit(1));
            axis.setNumberFormatOverride(format);
            axis.setMinorTickMarksVisible(true);
            axis.setMinorTickCount(9);
            return axis;
        }
        NumberAxis axis = new NumberAxis(unit);
        axis.setRange(0, max / DATA_SHARE);
        axis.setNumberFormatOverride(format);
        return axis;
    }

    /** Each bar's value, written as results.md writes it. */
    private static final class NumberLabels extends StandardCategoryItemLabelGenerator {
        @Override
        public String generateLabel(CategoryDataset dataset, int row, int column) {
            Number value = dataset.getValue(row, column);
            return value == null ? null : MarkdownReport.number(value.doubleValue());
        }
    }
}
