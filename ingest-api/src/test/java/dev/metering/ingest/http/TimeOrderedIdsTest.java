package dev.metering.ingest.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TimeOrderedIdsTest {
    @Test
    void idsAreVersion7CarryTheTimeAndSortInTheOrderTheyWereMade() {
        AtomicLong clock = new AtomicLong(1_750_000_000_000L);
        TimeOrderedIds ids = new TimeOrderedIds(clock::get);
        List<String> made = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) { // more than 4096 in one millisecond
            made.add(ids.nextString());
            if (i % 3_000 == 0) {
                clock.addAndGet(-5); // a clock stepping back never breaks the order
            }
        }
        assertThat(new HashSet<>(made)).hasSize(made.size());
        assertThat(made).isSorted();
        UUID first = UUID.fromString(made.get(0));
        assertThat(first.version()).isEqualTo(7);
        assertThat(first.variant()).isEqualTo(2);
        assertThat(first.getMostSignificantBits() >>> 16).isEqualTo(1_750_000_000_000L);
    }
}
