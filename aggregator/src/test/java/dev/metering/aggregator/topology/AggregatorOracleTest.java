package dev.metering.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.aggregator.Expected;
import dev.metering.avro.IdSpace;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.rules.Tenants;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerializer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Function;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The oracle: random mixes of ABSOLUTE and DELTA events (three tenants and three id spaces sharing account ids and
 * event ids), out-of-order event times, exact retries, reused ids with another payload, late and future events, piped
 * through the topology. A recomputation from the accepted events (judged by a plain re-statement of DESIGN.md's
 * rules, in log order) of every hour equals the last rollup emitted for it; and days and months composed from the
 * emitted hours by the contract's fold equal a direct recomputation from the events by DESIGN.md's period rule.
 * Reverts are mixed in (partial, exceeding, of unknown usages, of reverts, of ABSOLUTEs, late, retried, conflicting),
 * judged by a plain restatement of the revert rules.
 */
class AggregatorOracleTest {
    private static final Duration GRACE = Duration.ofHours(48);
    private static final Duration SKEW = Duration.ofMinutes(5);
    /** Near a month's end, so the events' hours span days and two months. */
    private static final Instant START = Instant.parse("2026-03-31T20:00:00Z");
    private static final String[] TENANTS = {null, "org-a", "org-b", Tenants.DEFAULT};
    private static final String[] ACCOUNTS = {"a1", "a2", "a3"};
    private static final String[] FEATURES = {"f1", "f2"};

    @TempDir
    Path stateDir;

    record Sent(UsageEvent event, Instant arrival) {
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6})
    void emittedHoursEqualARecomputationAndComposeIntoDaysAndMonths(long seed) {
        Random random = new Random(seed);
        List<Sent> sent = generate(random, 300 + random.nextInt(400));
        Oracle oracle = Oracle.judge(sent);

        SchemaRegistryClient registry = SchemaRegistryClient.forUrl("mem://oracle-" + UUID.randomUUID());
        AggregatorMetrics metrics = new AggregatorMetrics(new SimpleMeterRegistry());
        Map<RollupKey, Rollup> emitted = new HashMap<>();
        try (TopologyTestDriver driver = driver(registry, metrics)) {
            TestInputTopic<byte[], byte[]> input = driver.createInputTopic(Topics.USAGE_EVENTS, new ByteArraySerializer(), new ByteArraySerializer());
            TestOutputTopic<RollupKey, Rollup> output = driver.createOutputTopic(Topics.USAGE_ROLLUPS,
                    new AvroDeserializer<>(RollupKey.class, registry), new AvroDeserializer<>(Rollup.class, registry));
            AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(registry, false);
            for (Sent record : sent) {
                input.pipeInput(new TestRecord<>(record.event().getBillingAccountId().getBytes(StandardCharsets.UTF_8),
                        serializer.serialize(Topics.USAGE_EVENTS, record.event()), new RecordHeaders(), record.arrival()));
                if (random.nextInt(50) == 0) {
                    driver.advanceWallClockTime(Duration.ofMillis(random.nextInt(300))); // emits now and then, mid-stream
                }
            }
            driver.advanceWallClockTime(Duration.ofSeconds(1));
            output.readRecordsToList().forEach(record -> emitted.put(record.key(), record.value()));
        }

        Map<RollupKey, Expected> actual = new HashMap<>();
        emitted.forEach((key, rollup) -> actual.put(key, Expected.of(rollup)));
        assertThat(Expected.differences(Expected.recompute(oracle.accepted), actual)).as("hours differing from the recomputation").isEmpty();
        assertThat(oracle.accepted).hasSizeGreaterThan(sent.size() / 3);
        assertThat(metrics.acceptedCount()).isEqualTo(oracle.accepted.size());
        assertThat(metrics.duplicateCount()).isEqualTo(oracle.duplicates);
        assertThat(metrics.deadLetteredCount(Reason.CONFLICT)).isEqualTo(oracle.conflicts);
        assertThat(metrics.deadLetteredCount(Reason.LATE)).isEqualTo(oracle.late);
        assertThat(metrics.deadLetteredCount(Reason.FUTURE)).isEqualTo(oracle.future);
        assertThat(oracle.duplicates).isPositive();
        assertThat(oracle.conflicts).isPositive();
        for (Reason reason : List.of(Reason.REVERT_UNKNOWN_USAGE, Reason.REVERT_OF_REVERT, Reason.REVERT_OF_ABSOLUTE,
                Reason.REVERT_EXCEEDS_USAGE, Reason.REVERT_LATE)) {
            assertThat(metrics.deadLetteredCount(reason)).as(reason.name()).isEqualTo((double) oracle.revertRejections.getOrDefault(reason, 0));
        }
        assertThat(oracle.revertsApplied).isPositive();
        assertThat(oracle.revertRejections.getOrDefault(Reason.REVERT_EXCEEDS_USAGE, 0)).isPositive();

        for (Function<Instant, String> period : List.<Function<Instant, String>>of(AggregatorOracleTest::day, AggregatorOracleTest::month)) {
            Map<List<String>, Period> composed = composeFromHours(emitted.values(), period);
            Map<List<String>, Period> direct = recomputeFromEvents(oracle.accepted, period);
            assertThat(composed).isEqualTo(direct);
        }
        // The fold is associative: days summarised as (has_absolute, billable) fold into months as their hours do.
        Map<List<String>, Period> days = composeFromHours(emitted.values(), AggregatorOracleTest::day);
        Map<List<String>, BigDecimal> monthsFromDays = new TreeMap<>(Comparator.comparing(Object::toString));
        days.entrySet().stream().sorted(Comparator.comparing(entry -> entry.getKey().get(3))).forEach(entry -> {
            List<String> monthKey = List.of(entry.getKey().get(0), entry.getKey().get(1), entry.getKey().get(2), entry.getKey().get(3).substring(0, 7));
            BigDecimal acc = monthsFromDays.getOrDefault(monthKey, BigDecimal.ZERO.setScale(12));
            monthsFromDays.put(monthKey, entry.getValue().hasAbsolute ? entry.getValue().billable : acc.add(entry.getValue().billable));
        });
        Map<List<String>, Period> months = composeFromHours(emitted.values(), AggregatorOracleTest::month);
        assertThat(monthsFromDays).hasSameSizeAs(months);
        months.forEach((key, month) -> assertThat(monthsFromDays.get(key)).as(key.toString()).isEqualTo(month.billable));
    }

    // ---- generation ----------------------------------------------------------------------------------

    private static List<Sent> generate(Random random, int count) {
        List<Sent> sent = new ArrayList<>();
        Instant arrival = START;
        for (int i = 0; i < count; i++) {
            arrival = arrival.plusMillis(random.nextInt(120_000));
            int shape = random.nextInt(100);
            UsageEvent event;
            if (shape < 10 && !sent.isEmpty()) {
                // A retry: the same event again, received (and maybe produced) later.
                UsageEvent earlier = sent.get(random.nextInt(sent.size())).event();
                event = UsageEvent.newBuilder(earlier).setReceivedAt(arrival).build();
            } else if (shape < 24 && !sent.isEmpty()) {
                // A revert of an earlier event (usually a usage; sometimes a revert, an ABSOLUTE, or an unknown id).
                UsageEvent target = sent.get(random.nextInt(sent.size())).event();
                String targetId = random.nextInt(10) == 0 ? "unknown-" + random.nextInt(5) : target.getEventId();
                BigDecimal amount = switch (random.nextInt(4)) {
                    case 0 -> target.getQuantity();
                    case 1 -> target.getQuantity().add(new BigDecimal("0.000000000001"));
                    default -> target.getQuantity().divide(BigDecimal.valueOf(2 + random.nextInt(3)), 12, java.math.RoundingMode.DOWN);
                };
                event = UsageEvent.newBuilder(target).setEventId("r" + random.nextInt(200)).setRevertsEventId(targetId).setFeatureCode("")
                        .setValueType(ValueType.DELTA).setQuantity(amount.signum() == 0 ? new BigDecimal("1.000000000000") : amount)
                        .setEventTime(arrival).setReceivedAt(arrival).build();
            } else if (shape < 28 && !sent.isEmpty()) {
                // The same identity with another payload: a conflict, unless the first one was refused.
                UsageEvent earlier = sent.get(random.nextInt(sent.size())).event();
                event = UsageEvent.newBuilder(earlier).setQuantity(earlier.getQuantity().add(BigDecimal.ONE)).build();
            } else {
                event = newEvent(random, "e" + random.nextInt(60), arrival);
            }
            sent.add(new Sent(event, arrival));
        }
        return sent;
    }

    private static UsageEvent newEvent(Random random, String id, Instant arrival) {
        // Up to 52 h back (some beyond the 48 h grace: LATE) and up to 6 min ahead (some beyond the 5 min skew: FUTURE).
        Instant eventTime = arrival.minusMillis((long) (random.nextDouble() * Duration.ofHours(52).toMillis()))
                .plusMillis(random.nextInt((int) Duration.ofMinutes(6).toMillis()));
        if (random.nextInt(4) == 0) {
            eventTime = eventTime.truncatedTo(ChronoUnit.HOURS).plus(Duration.ofMinutes(random.nextInt(3) * 20L)); // ties
        }
        BigDecimal quantity = switch (random.nextInt(3)) {
            case 0 -> new BigDecimal("0.1");
            case 1 -> BigDecimal.valueOf(random.nextInt(1000));
            default -> new BigDecimal(BigDecimal.valueOf(random.nextLong() & Long.MAX_VALUE).toBigInteger(), 12);
        };
        return UsageEvent.newBuilder()
                .setEventId(id)
                .setOrgId(TENANTS[random.nextInt(TENANTS.length)])
                .setIdSpace(IdSpace.values()[random.nextInt(IdSpace.values().length)])
                .setBillingAccountId(ACCOUNTS[random.nextInt(ACCOUNTS.length)])
                .setFeatureCode(FEATURES[random.nextInt(FEATURES.length)])
                .setQuantity(quantity.setScale(12))
                .setValueType(random.nextInt(5) < 2 ? ValueType.ABSOLUTE : ValueType.DELTA)
                .setEventTime(eventTime)
                .setReceivedAt(arrival)
                .build();
    }

    private TopologyTestDriver driver(SchemaRegistryClient registry, AggregatorMetrics metrics) {
        return TopologyDrivers.start(stateDir, registry, metrics, Duration.ofDays(35), GRACE, SKEW);
    }

    // ---- the oracle: DESIGN.md's acceptance rules, restated plainly -------------------------------------

    static final class Oracle {
        final List<UsageEvent> accepted = new ArrayList<>();
        final Map<Reason, Integer> revertRejections = new HashMap<>();
        int revertsApplied;
        int duplicates;
        int conflicts;
        int late;
        int future;

        static Oracle judge(List<Sent> sent) {
            Oracle oracle = new Oracle();
            Map<List<Object>, UsageEvent> remembered = new HashMap<>();
            Map<List<Object>, BigDecimal> revertedSoFar = new HashMap<>();
            Instant streamTime = Instant.EPOCH;
            for (Sent record : sent) {
                UsageEvent event = record.event();
                streamTime = streamTime.isAfter(record.arrival()) ? streamTime : record.arrival();
                List<Object> identity = List.of(Tenants.of(event.getOrgId()), event.getBillingAccountId(), event.getIdSpace(), event.getEventId());
                UsageEvent first = remembered.get(identity);
                if (event.getRevertsEventId() != null) {
                    if (first != null) {
                        if (samePayload(first, event)) {
                            oracle.duplicates++;
                        } else {
                            oracle.conflicts++;
                        }
                        continue;
                    }
                    remembered.put(identity, event); // a revert is remembered with its verdict, applied or not
                    List<Object> usageIdentity = Expected.identity(event, event.getRevertsEventId());
                    UsageEvent usage = remembered.get(usageIdentity);
                    BigDecimal reverted = revertedSoFar.getOrDefault(usageIdentity, BigDecimal.ZERO);
                    Reason refused = null;
                    if (usage == null) {
                        refused = Reason.REVERT_UNKNOWN_USAGE;
                    } else if (usage.getRevertsEventId() != null) {
                        refused = Reason.REVERT_OF_REVERT;
                    } else if (usage.getValueType() == ValueType.ABSOLUTE) {
                        refused = Reason.REVERT_OF_ABSOLUTE;
                    } else if (!usage.getEventTime().truncatedTo(ChronoUnit.HOURS).plus(Duration.ofHours(1)).plus(GRACE).isAfter(streamTime)) {
                        refused = Reason.REVERT_LATE;
                    } else if (reverted.add(event.getQuantity()).compareTo(usage.getQuantity()) > 0) {
                        refused = Reason.REVERT_EXCEEDS_USAGE;
                    }
                    if (refused == null) {
                        revertedSoFar.put(usageIdentity, reverted.add(event.getQuantity()));
                        oracle.accepted.add(event);
                        oracle.revertsApplied++;
                    } else {
                        oracle.revertRejections.merge(refused, 1, Integer::sum);
                    }
                    continue;
                }
                if (first != null) {
                    if (samePayload(first, event)) {
                        oracle.duplicates++;
                    } else {
                        oracle.conflicts++;
                    }
                } else if (event.getEventTime().isAfter(record.arrival().plus(SKEW))) {
                    oracle.future++;
                } else if (!event.getEventTime().truncatedTo(ChronoUnit.HOURS).plus(Duration.ofHours(1)).plus(GRACE).isAfter(streamTime)) {
                    oracle.late++;
                } else {
                    remembered.put(identity, event);
                    oracle.accepted.add(event);
                }
            }
            return oracle;
        }

        /** Equal but for received_at; a revert's event_time (when it was requested) does not count either. */
        private static boolean samePayload(UsageEvent a, UsageEvent b) {
            return comparable(a).equals(comparable(b));
        }

        private static UsageEvent comparable(UsageEvent event) {
            UsageEvent.Builder builder = UsageEvent.newBuilder(event).setReceivedAt(Instant.EPOCH);
            if (event.getRevertsEventId() != null) {
                builder.setEventTime(Instant.EPOCH);
            }
            return builder.build();
        }
    }

    // ---- periods ---------------------------------------------------------------------------------------

    /** What a period (day, month) reports: count, sums, extremes, latest, and the billable quantity. */
    record Period(long count, BigDecimal sum, BigDecimal min, BigDecimal max, Instant latestTime, String latestId, boolean hasAbsolute,
                  BigDecimal billable) {
    }

    private static String day(Instant time) {
        return LocalDate.ofInstant(time, ZoneOffset.UTC).toString();
    }

    private static String month(Instant time) {
        return day(time).substring(0, 7);
    }

    /** The contract's fold over the period's hours in window_start order: acc = has_absolute ? billable : acc + billable. */
    private static Map<List<String>, Period> composeFromHours(Iterable<Rollup> hours, Function<Instant, String> period) {
        Map<List<String>, List<Rollup>> byPeriod = new HashMap<>();
        for (Rollup hour : hours) {
            byPeriod.computeIfAbsent(List.of(hour.getOrgId(), hour.getBillingAccountId(), hour.getFeatureCode(), period.apply(hour.getWindowStart())),
                    k -> new ArrayList<>()).add(hour);
        }
        Map<List<String>, Period> result = new HashMap<>();
        byPeriod.forEach((key, periodHours) -> {
            periodHours.sort(Comparator.comparing(Rollup::getWindowStart));
            long count = 0;
            BigDecimal sum = BigDecimal.ZERO.setScale(12);
            BigDecimal billable = BigDecimal.ZERO.setScale(12);
            boolean hasAbsolute = false;
            Rollup first = periodHours.get(0);
            BigDecimal min = first.getMinValue();
            BigDecimal max = first.getMaxValue();
            Instant latestTime = first.getLatestEventTime();
            String latestId = first.getLatestEventId();
            for (Rollup hour : periodHours) {
                count += hour.getEventCount();
                sum = sum.add(hour.getQuantitySum());
                boolean absolute = hour.getLatestAbsoluteEventTime() != null;
                billable = absolute ? hour.getBillableQuantity() : billable.add(hour.getBillableQuantity());
                hasAbsolute |= absolute;
                min = min.min(hour.getMinValue());
                max = max.max(hour.getMaxValue());
                if (hour.getLatestEventTime().isAfter(latestTime)
                        || (hour.getLatestEventTime().equals(latestTime) && hour.getLatestEventId().compareTo(latestId) > 0)) {
                    latestTime = hour.getLatestEventTime();
                    latestId = hour.getLatestEventId();
                }
            }
            result.put(key, new Period(count, sum, min, max, latestTime, latestId, hasAbsolute, billable));
        });
        return result;
    }

    /**
     * DESIGN.md's period rule, straight from the events: the latest hour of the period holding an ABSOLUTE bills its
     * billable quantity (ABSOLUTE then DELTAs in acceptance order), plus the DELTA sums of all later hours; without
     * an ABSOLUTE, the sum of the DELTAs.
     */
    private static Map<List<String>, Period> recomputeFromEvents(List<UsageEvent> acceptedWithReverts, Function<Instant, String> period) {
        // A revert counts in its usage's hour, as a negative DELTA (billable: see the running value below).
        Map<List<Object>, UsageEvent> usages = new HashMap<>();
        Map<UsageEvent, UsageEvent> revertedUsage = new java.util.IdentityHashMap<>();
        List<UsageEvent> accepted = new ArrayList<>();
        for (UsageEvent event : acceptedWithReverts) {
            if (event.getRevertsEventId() == null) {
                usages.put(Expected.identity(event, event.getEventId()), event);
                accepted.add(event);
            } else {
                UsageEvent usage = usages.get(Expected.identity(event, event.getRevertsEventId()));
                UsageEvent placed = UsageEvent.newBuilder(event).setFeatureCode(usage.getFeatureCode()).setEventTime(usage.getEventTime()).build();
                revertedUsage.put(placed, usage);
                accepted.add(placed);
            }
        }
        Map<List<String>, List<UsageEvent>> byPeriod = new HashMap<>();
        for (UsageEvent event : accepted) {
            byPeriod.computeIfAbsent(List.of(Tenants.of(event.getOrgId()), event.getBillingAccountId(), event.getFeatureCode(),
                    period.apply(event.getEventTime())), k -> new ArrayList<>()).add(event);
        }
        Map<List<String>, Period> result = new HashMap<>();
        byPeriod.forEach((key, events) -> {
            Instant lastAbsoluteHour = events.stream().filter(e -> e.getValueType() == ValueType.ABSOLUTE)
                    .map(e -> e.getEventTime().truncatedTo(ChronoUnit.HOURS)).max(Comparator.naturalOrder()).orElse(null);
            BigDecimal billable = BigDecimal.ZERO;
            BigDecimal sum = BigDecimal.ZERO.setScale(12);
            UsageEvent latest = events.get(0);
            BigDecimal min = latest.getQuantity();
            BigDecimal max = latest.getQuantity();
            UsageEvent appliedAbsolute = null;
            long usageCount = 0;
            for (UsageEvent event : events) {
                Instant hour = event.getEventTime().truncatedTo(ChronoUnit.HOURS);
                if (revertedUsage.containsKey(event)) {
                    sum = sum.subtract(event.getQuantity());
                    if (lastAbsoluteHour == null || hour.isAfter(lastAbsoluteHour)) {
                        billable = billable.subtract(event.getQuantity());
                    }
                    continue;
                }
                usageCount++;
                boolean delta = event.getValueType() == ValueType.DELTA;
                if (delta) {
                    sum = sum.add(event.getQuantity());
                }
                min = min.min(event.getQuantity());
                max = max.max(event.getQuantity());
                if (event.getEventTime().isAfter(latest.getEventTime())
                        || (event.getEventTime().equals(latest.getEventTime()) && event.getEventId().compareTo(latest.getEventId()) > 0)) {
                    latest = event;
                }
                if (lastAbsoluteHour == null || hour.isAfter(lastAbsoluteHour)) {
                    billable = delta ? billable.add(event.getQuantity()) : billable; // DELTAs of later hours (or of all)
                }
            }
            if (lastAbsoluteHour != null) {
                // That hour's running value, in acceptance order: an ABSOLUTE later than the applied one sets it, DELTAs add.
                // A revert lowers it only when no ABSOLUTE was applied to the hour after its usage.
                BigDecimal running = BigDecimal.ZERO;
                Map<UsageEvent, UsageEvent> absoluteAtUsage = new java.util.IdentityHashMap<>();
                for (UsageEvent event : events) {
                    if (!event.getEventTime().truncatedTo(ChronoUnit.HOURS).equals(lastAbsoluteHour)) {
                        continue;
                    }
                    UsageEvent usage = revertedUsage.get(event);
                    if (usage != null) {
                        if (absoluteAtUsage.get(usage) == appliedAbsolute) {
                            running = running.subtract(event.getQuantity());
                        }
                    } else if (event.getValueType() == ValueType.DELTA) {
                        absoluteAtUsage.put(event, appliedAbsolute);
                        running = running.add(event.getQuantity());
                    } else if (appliedAbsolute == null || event.getEventTime().isAfter(appliedAbsolute.getEventTime())
                            || (event.getEventTime().equals(appliedAbsolute.getEventTime()) && event.getEventId().compareTo(appliedAbsolute.getEventId()) > 0)) {
                        running = event.getQuantity();
                        appliedAbsolute = event;
                    }
                }
                billable = billable.add(running);
            }
            result.put(key, new Period(usageCount, sum, min, max, latest.getEventTime(), latest.getEventId(), lastAbsoluteHour != null,
                    billable.setScale(12)));
        });
        return result;
    }
}
