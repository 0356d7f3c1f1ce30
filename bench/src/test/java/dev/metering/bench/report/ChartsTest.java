package dev.metering.bench.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;

/** Draws the charts of a fixed, hand-written results.json (a quick run on 2 cores, both traffic shapes). */
class ChartsTest {
    private static Results results;

    @BeforeAll
    static void readResults() throws Exception {
        try (InputStream in = ChartsTest.class.getResourceAsStream("/report/results.json")) {
            results = new ObjectMapper().readValue(in, Results.class);
        }
    }

    @Test
    void writesBothPicturesAsPngAndSvgOfTheExpectedSize(@TempDir Path dir) throws Exception {
        Charts.write(dir, results);

        List<ComparisonChart.Panel> panels = ComparisonChart.panels(results);
        int comparisonHeight = ComparisonChart.HEADER_HEIGHT + panels.stream().mapToInt(p -> p.height() + ComparisonChart.GAP).sum();
        // 8 compared throughput figures, 14 compared latency figures, 8 analyst query timings without a reference
        assertThat(comparisonHeight).isEqualTo(104 + (100 + 8 * 46 + 12) + (100 + 14 * 46 + 12) + (100 + 8 * 26 + 12));
        assertImage(dir.resolve("comparison.png"), ComparisonChart.WIDTH, comparisonHeight);
        assertSvg(dir.resolve("comparison.svg"), ComparisonChart.WIDTH, comparisonHeight);

        // 12 phases in 3 columns: 4 rows
        int timelineHeight = TimelineChart.HEADER_HEIGHT + 4 * TimelineChart.PANEL_HEIGHT;
        assertImage(dir.resolve("timeline.png"), 3 * TimelineChart.PANEL_WIDTH, timelineHeight);
        assertSvg(dir.resolve("timeline.svg"), 3 * TimelineChart.PANEL_WIDTH, timelineHeight);
    }

    @Test
    void everyFigureWithAReferenceIsInTheComparisonNextToItsReference() {
        List<ComparisonChart.Panel> panels = ComparisonChart.panels(results);
        List<Results.Figure> compared = results.figures().stream().filter(figure -> figure.ratio() != null).toList();
        assertThat(compared).hasSize(22);

        for (Results.Figure figure : compared) {
            ComparisonChart.Kind kind = figure.unit().equals("ms") ? ComparisonChart.Kind.LATENCY : ComparisonChart.Kind.THROUGHPUT;
            ComparisonChart.Panel panel = panels.stream().filter(p -> p.compared() && p.kind() == kind).findFirst().orElseThrow();
            String label = ComparisonChart.label(figure);
            assertThat(panel.figures()).as(label).contains(figure);
            assertThat(panel.dataset().getValue(ComparisonChart.OURS, label).doubleValue()).as(label).isEqualTo(figure.value());
            assertThat(panel.dataset().getValue(ComparisonChart.REFERENCE, label).doubleValue()).as(label).isEqualTo(figure.referenceValue());
        }
        // throughput and latency apart, and nothing drawn twice
        assertThat(panels).extracting(ComparisonChart.Panel::kind, ComparisonChart.Panel::compared).containsExactly(
                org.assertj.core.groups.Tuple.tuple(ComparisonChart.Kind.THROUGHPUT, true),
                org.assertj.core.groups.Tuple.tuple(ComparisonChart.Kind.LATENCY, true),
                org.assertj.core.groups.Tuple.tuple(ComparisonChart.Kind.LATENCY, false));
        assertThat(panels.get(0).dataset().getColumnCount()).isEqualTo(8);
        assertThat(panels.get(1).dataset().getColumnCount()).isEqualTo(14);
    }

    @Test
    void theAnalystQueriesHaveTheirOwnPanelWithoutReferenceBars() {
        ComparisonChart.Panel alone = ComparisonChart.panels(results).get(2);
        assertThat(alone.figures()).hasSize(8).allSatisfy(figure -> assertThat(figure.group()).startsWith("Analyst queries"));
        assertThat(alone.dataset().getRowKeys()).containsExactly(ComparisonChart.OURS);
    }

    @Test
    void uniformAndSkewedTwinsStandSideBySide() {
        Results.Figure uniform = Results.Figure.compared("End to end", "uniform traffic", 1900, "events/s", "naive, uniform", 4600);
        Results.Figure ingest = Results.Figure.compared("HTTP ingest", "batch of 100: throughput", 14000, "events/s", "ProducerPerformance", 78000);
        Results.Figure skewed = Results.Figure.compared("End to end", "skewed traffic", 2100, "events/s", "naive, skewed", 1200);

        assertThat(ComparisonChart.shapesSideBySide(List.of(uniform, ingest, skewed))).containsExactly(uniform, skewed, ingest);
        ComparisonChart.Panel throughput = ComparisonChart.panels(results).get(0);
        List<?> labels = throughput.dataset().getColumnKeys();
        int uniformAt = indexOfLabelContaining(labels, "uniform traffic");
        assertThat(labels.get(uniformAt + 1).toString()).contains("skewed traffic");
    }

    @Test
    void everyPhaseHasItsPanelIncludingOneSampleReferences() {
        Map<String, List<Timeline.Sample>> phases = TimelineChart.phases(results.timeline());

        assertThat(phases.keySet()).containsExactly("reference producer", "HTTP Frontier, 1 event/request", "HTTP Kinde, 1 event/request",
                "HTTP batch of 100", "HTTP batch of 1000", "end to end, uniform", "naive upsert per event, uniform", "end to end, skewed",
                "naive upsert per event, skewed", "freshness", "aggregator drain", "reference consumer");
        assertThat(phases.get("reference producer")).hasSize(1);
        assertThat(phases.get("reference consumer")).hasSize(1);
        assertThat(TimelineChart.summary(phases.get("reference consumer"))).isEqualTo("one figure for the whole phase: 210,544 records/s");
        // p50 and p99 where the phase measures latency: two subplots, else one
        assertThat(((org.jfree.chart.plot.CombinedDomainXYPlot) TimelineChart.chart("freshness", phases.get("freshness")).getPlot())
                .getSubplots()).hasSize(2);
        assertThat(((org.jfree.chart.plot.CombinedDomainXYPlot) TimelineChart.chart("aggregator drain", phases.get("aggregator drain"))
                .getPlot()).getSubplots()).hasSize(1);
    }

    @Test
    void aRunWithoutFiguresOrSamplesStillGetsPictures(@TempDir Path dir) throws Exception {
        Results empty = new Results(results.startedAt(), "quick", results.machine(), results.versions(), Map.of(), Map.of(),
                List.of(), Map.of(), List.of());
        Charts.write(dir, empty);
        assertImage(dir.resolve("comparison.png"), ComparisonChart.WIDTH, ComparisonChart.HEADER_HEIGHT + 200);
        assertImage(dir.resolve("timeline.png"), 3 * TimelineChart.PANEL_WIDTH, TimelineChart.HEADER_HEIGHT + TimelineChart.PANEL_HEIGHT);
    }

    @Test
    void titlesNameMachineCoresModeAndDate() {
        assertThat(Charts.run(results)).isEqualTo("quick run, 2025-07-14 09:30 UTC, AMD EPYC 7B13, 2 cores");
    }

    private static int indexOfLabelContaining(List<?> labels, String text) {
        for (int i = 0; i < labels.size(); i++) {
            if (labels.get(i).toString().contains(text)) {
                return i;
            }
        }
        throw new AssertionError("no label contains " + text + ": " + labels);
    }

    private static void assertImage(Path png, int width, int height) throws Exception {
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).as(png.toString()).isNotNull();
        assertThat(image.getWidth()).isEqualTo(width);
        assertThat(image.getHeight()).isEqualTo(height);
    }

    private static void assertSvg(Path svg, int width, int height) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        Element root = factory.newDocumentBuilder().parse(svg.toFile()).getDocumentElement();
        assertThat(root.getLocalName()).isEqualTo("svg");
        assertThat(root.getNamespaceURI()).isEqualTo("http://www.w3.org/2000/svg");
        assertThat(Double.parseDouble(root.getAttribute("width"))).isEqualTo(width);
        assertThat(Double.parseDouble(root.getAttribute("height"))).isEqualTo(height);
        assertThat(Files.size(svg)).isGreaterThan(10_000);
    }
}
