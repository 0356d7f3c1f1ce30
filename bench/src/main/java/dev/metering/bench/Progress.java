package dev.metering.bench;

import java.io.PrintStream;
import java.util.Locale;

/** What the benchmark prints while it runs: one line per phase start and one per second of each phase. */
public final class Progress {
    private final PrintStream out;
    private final long startNanos = System.nanoTime();

    public Progress(PrintStream out) {
        this.out = out;
    }

    public void phase(String title) {
        out.println();
        out.printf(Locale.ROOT, "[%6.1fs] == %s%n", elapsed(), title);
        out.flush();
    }

    public void line(String format, Object... args) {
        out.printf(Locale.ROOT, "[%6.1fs]    %s%n", elapsed(), String.format(Locale.ROOT, format, args));
        out.flush();
    }

    private double elapsed() {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
