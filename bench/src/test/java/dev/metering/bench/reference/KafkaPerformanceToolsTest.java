package dev.metering.bench.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The summaries of Kafka 4.1's ProducerPerformance and ConsumerPerformance, as they print them. */
class KafkaPerformanceToolsTest {

    @Test
    void readsProducerPerformanceFinalSummaryNotTheProgressLines() {
        KafkaPerformanceTools.ProducerResult result = KafkaPerformanceTools.parseProducer(List.of(
                "160477 records sent, 32056.9 records/sec (2.78 MB/sec), 994.4 ms avg latency, 1930.0 ms max latency.",
                "300000 records sent, 48441.8 records/sec (4.20 MB/sec), 1513.37 ms avg latency, 2334.00 ms max latency, "
                        + "1819 ms 50th, 2248 ms 95th, 2301 ms 99th, 2331 ms 99.9th."));

        assertThat(result).isEqualTo(new KafkaPerformanceTools.ProducerResult(300000, 48441.8, 4.20, 1513.37, 2334.00,
                1819, 2248, 2301, 2331));
    }

    @Test
    void readsConsumerPerformanceCsvLine() {
        KafkaPerformanceTools.ConsumerResult result = KafkaPerformanceTools.parseConsumer(List.of(
                "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, "
                        + "fetch.MB.sec, fetch.nMsg.sec",
                "2026-11-23 18:31:05:123, 2026-11-23 18:31:06:524, 13.6497, 9.7428, 150000, 107066.3812, 661, 740, 18.4456, 202702.7027"));

        assertThat(result).isEqualTo(new KafkaPerformanceTools.ConsumerResult(150000, 107066.3812, 9.7428, 661, 202702.7027));
    }

    @Test
    void saysWhatTheToolPrintedWhenThereIsNoSummary() {
        assertThatThrownBy(() -> KafkaPerformanceTools.parseProducer(List.of("ERROR Connection to node -1 could not be established")))
                .hasMessageContaining("no summary line").hasMessageContaining("could not be established");
        assertThatThrownBy(() -> KafkaPerformanceTools.parseConsumer(List.of("WARNING: Exiting before consuming the expected number of messages")))
                .hasMessageContaining("no summary line").hasMessageContaining("Exiting before consuming");
    }
}
