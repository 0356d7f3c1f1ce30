package dev.metering.bench.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.jfree.svg.SVGGraphics2D;
import org.jfree.svg.ViewBox;

/**
 * The benchmark's pictures, drawn with JFreeChart: {@code comparison.png}/{@code .svg} (every figure next to its
 * reference, {@link ComparisonChart}) and {@code timeline.png}/{@code .svg} (the per-second samples, one small panel
 * per phase, {@link TimelineChart}). PNG through ImageIO, SVG through JFreeSVG's {@link SVGGraphics2D}; both from
 * the same drawing code.
 *
 * <p>{@link #main} draws them again from a {@code results.json}, e.g. after the chart code changed, without a run.
 */
public final class Charts {
    static final String COMPARISON = "comparison";
    static final String TIMELINE = "timeline";
    static final Font TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 18);
    static final Font RUN_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 14);
    static final Font SUBTITLE_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 13);

    static {
        // The benchmark runs on servers; nothing here needs a display.
        System.setProperty("java.awt.headless", "true");
    }

    private Charts() {
    }

    /** Something drawn at a fixed size, onto a PNG's or an SVG's {@link Graphics2D}. */
    interface Drawing {
        int width();

        int height();

        void draw(Graphics2D g2);
    }

    /** Writes comparison.png, comparison.svg, timeline.png and timeline.svg into {@code dir}. */
    public static void write(Path dir, Results results) throws IOException {
        Files.createDirectories(dir);
        Drawing comparison = ComparisonChart.drawing(results);
        writePng(comparison, dir.resolve(COMPARISON + ".png"));
        writeSvg(comparison, dir.resolve(COMPARISON + ".svg"));
        Drawing timeline = TimelineChart.drawing(results);
        writePng(timeline, dir.resolve(TIMELINE + ".png"));
        writeSvg(timeline, dir.resolve(TIMELINE + ".svg"));
    }

    static void writePng(Drawing drawing, Path file) throws IOException {
        BufferedImage image = new BufferedImage(drawing.width(), drawing.height(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g2 = image.createGraphics();
        try {
            g2.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g2.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            drawing.draw(g2);
        } finally {
            g2.dispose();
        }
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException("No PNG writer in this JVM");
        }
    }

    static void writeSvg(Drawing drawing, Path file) throws IOException {
        SVGGraphics2D g2 = new SVGGraphics2D(drawing.width(), drawing.height());
        drawing.draw(g2);
        Files.writeString(file, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + g2.getSVGElement(null, true,
                new ViewBox(0, 0, drawing.width(), drawing.height()), null, null) + "\n", StandardCharsets.UTF_8);
    }

    /** White background and a title block across the top: a bold title, the run in bold, then plain lines split at '\n'. */
    static void header(Graphics2D g2, int width, int height, String title, Results results, String subtitle) {
        g2.setPaint(Color.WHITE);
        g2.fillRect(0, 0, width, height);
        g2.setPaint(Color.BLACK);
        g2.setFont(TITLE_FONT);
        g2.drawString(title, 16, 28);
        g2.setFont(RUN_FONT);
        g2.drawString(run(results), 16, 50);
        g2.setPaint(Color.DARK_GRAY);
        g2.setFont(SUBTITLE_FONT);
        int y = 72;
        for (String line : subtitle.split("\n")) {
            g2.drawString(line, 16, y);
            y += 17;
        }
    }

    /** "quick run, 2025-07-14 09:30 UTC, AMD EPYC 7B13, 2 cores": what the titles say about the run. */
    static String run(Results results) {
        Results.Machine machine = results.machine();
        return results.mode() + " run, " + date(results.startedAt()) + ", " + machine.cpu() + ", " + machine.cores() + " cores";
    }

    static String date(String startedAt) {
        try {
            return DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT).withZone(ZoneOffset.UTC).format(Instant.parse(startedAt));
        } catch (DateTimeParseException | NullPointerException e) {
            return String.valueOf(startedAt);
        }
    }

    /** {@code Charts results.json [output dir]}: draws the pictures of a finished run (next to its results.json by default). */
    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: Charts <results.json> [output directory]");
            System.exit(2);
        }
        Path json = Path.of(args[0]);
        Path dir = args.length == 2 ? Path.of(args[1]) : json.toAbsolutePath().getParent();
        write(dir, new ObjectMapper().readValue(json.toFile(), Results.class));
        System.out.println("Wrote " + COMPARISON + ".png/.svg and " + TIMELINE + ".png/.svg to " + dir.toAbsolutePath());
    }
}
