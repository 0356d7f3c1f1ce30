package dev.metering.bench.report;

import java.util.List;
import java.util.Map;

/**
 * Everything a run measured, as written to {@code results.json}. Ratios are ours divided by the reference:
 * for rates higher is better, for latencies lower is better.
 */
public record Results(String startedAt, String mode, Machine machine, Versions versions, Map<String, Object> settings,
                      Map<String, String> serviceOverrides, List<Figure> figures, Map<String, Object> phases,
                      List<Timeline.Sample> timeline) {

    public record Machine(String os, String arch, int cores, String cpu, long memoryBytes, long benchmarkMaxHeapBytes) {
    }

    public record Versions(String metering, String java, String kafka, String postgres) {
    }

    /**
     * One figure and what it is compared with.
     *
     * @param group          the table it is shown in
     * @param reference      what was measured as the reference, or null when there is none
     * @param referenceValue the reference's figure in the same unit
     * @param ratio          value / referenceValue, or null without a reference (or a zero one)
     */
    public record Figure(String group, String name, double value, String unit, String reference, Double referenceValue,
                         Double ratio) {

        public static Figure compared(String group, String name, double value, String unit, String reference, double referenceValue) {
            Double ratio = referenceValue > 0 ? value / referenceValue : null;
            return new Figure(group, name, value, unit, reference, referenceValue, ratio);
        }

        public static Figure alone(String group, String name, double value, String unit) {
            return new Figure(group, name, value, unit, null, null, null);
        }
    }
}
