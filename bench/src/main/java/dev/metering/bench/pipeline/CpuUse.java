package dev.metering.bench.pipeline;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * CPU time used on this machine, by component of the pipeline, so a phase can say what limits it in µs per event.
 * Threads of this JVM are told apart by name (Kafka Streams names its threads after the application; the sink names
 * its own); the JIT compiler's and the garbage collector's threads are read from {@code /proc/self/task} (Linux; zero
 * elsewhere); the broker runs in this JVM too, so it is counted with whatever else the JVM does (the benchmark's own
 * polling, the idle services). PostgreSQL is the sum over the processes named {@code postgres} that this user may
 * inspect, with their ended children (a database on another machine shows as zero).
 */
public final class CpuUse {
    public static final String STREAM_THREADS = "aggregator stream threads";
    public static final String STREAM_PRODUCERS = "aggregator producers' I/O threads";
    public static final String SINK = "sink threads";
    public static final String INGEST = "ingest API threads (HTTP server, its producer)";
    public static final String LOAD = "load generator (the benchmark's HTTP clients)";
    public static final String NAIVE = "naive upsert's JDBC threads";
    public static final String JIT = "JIT compiler threads";
    public static final String GC = "garbage collector threads";
    public static final String REST_OF_JVM = "broker and the rest of the JVM";
    public static final String POSTGRES = "PostgreSQL processes";
    /** How the benchmark names its load generator's threads, so that their CPU is counted apart. */
    public static final String LOAD_THREAD_PREFIX = "bench-load-";
    /** How the naive path names its JDBC threads. */
    public static final String NAIVE_THREAD_PREFIX = "naive-baseline-";
    /** Linux's USER_HZ, the unit of the CPU times in /proc (100 on every mainstream build). */
    private static final long NANOS_PER_CLOCK_TICK = 10_000_000L;

    /** CPU nanoseconds used so far, by component. */
    public record Snapshot(Map<String, Long> nanos) {
        /** CPU µs per event between {@code earlier} and this snapshot, by component; a component's figure is never negative. */
        public Map<String, Double> microsPerEventSince(Snapshot earlier, long events) {
            Map<String, Double> perEvent = new LinkedHashMap<>();
            nanos.forEach((component, now) -> perEvent.put(component,
                    Math.max(0, now - earlier.nanos.getOrDefault(component, 0L)) / 1e3 / Math.max(1, events)));
            return perEvent;
        }
    }

    private CpuUse() {
    }

    /** CPU of threads that ended (the load generator's and the naive path's workers), by component. */
    private static final Map<String, LongAdder> ENDED = new ConcurrentHashMap<>();
    private static final Set<Long> ENDING = ConcurrentHashMap.newKeySet();

    /**
     * Counts the calling thread's CPU time now, as its last act: the JVM forgets a thread's CPU time when it ends, so
     * without this a phase's short-lived workers would count as "the rest of the JVM".
     */
    public static void countThisThreadAsItEnds() {
        String component = component(Thread.currentThread().getName());
        long cpu = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        if (component != null && cpu > 0 && ENDING.add(Thread.currentThread().getId())) {
            ENDED.computeIfAbsent(component, name -> new LongAdder()).add(cpu);
        }
    }

    /** The component a thread of this JVM belongs to, by its name; null for the rest of the JVM. */
    private static String component(String threadName) {
        if (threadName.startsWith("kafka-producer-network-thread") && threadName.contains("-StreamThread-")) {
            return STREAM_PRODUCERS;
        } else if (threadName.contains("-StreamThread-")) {
            return STREAM_THREADS;
        } else if (threadName.startsWith("metering-sink-")) {
            return SINK;
        } else if (threadName.startsWith("JettyServerThreadPool") || threadName.startsWith("ingest-") || threadName.endsWith("| ingest-api")) {
            return INGEST; // Javalin's server threads (the query API's too, idle while the ingest phases run), the API's own
        } else if (threadName.startsWith(LOAD_THREAD_PREFIX) || threadName.startsWith("HttpClient-")) {
            return LOAD;
        } else if (threadName.startsWith(NAIVE_THREAD_PREFIX)) {
            return NAIVE;
        }
        return null;
    }

    public static Snapshot snapshot() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        // The Java threads' components first, in this order, then the JVM's own threads, the rest, PostgreSQL.
        Map<String, Long> nanos = new LinkedHashMap<>();
        for (String component : List.of(STREAM_THREADS, STREAM_PRODUCERS, SINK, INGEST, LOAD, NAIVE)) {
            LongAdder ended = ENDED.get(component);
            nanos.put(component, ended == null ? 0L : ended.sum());
        }
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            long cpu = info == null || ENDING.contains(info.getThreadId()) ? -1 : threads.getThreadCpuTime(info.getThreadId());
            String component = info == null ? null : component(info.getThreadName());
            if (cpu >= 0 && component != null) { // cpu < 0: ended meanwhile, or CPU time not measured
                nanos.merge(component, cpu, Long::sum);
            }
        }
        long javaThreads = nanos.values().stream().mapToLong(Long::longValue).sum();
        long process = cpuNanos(ProcessHandle.current());
        long jit = 0;
        long gc = 0;
        for (Map.Entry<String, Long> thread : nativeThreadCpuNanos().entrySet()) {
            String name = thread.getKey();
            if (name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")) {
                jit += thread.getValue();
            } else if (name.startsWith("GC Thread") || name.startsWith("G1 ") || name.equals("VM Thread")) {
                // the VM thread runs the collector's pauses (and the JVM's other safepoint operations)
                gc += thread.getValue();
            }
        }
        long postgres = ProcessHandle.allProcesses()
                .filter(handle -> handle.info().command().map(command -> command.endsWith("/postgres")).orElse(false))
                .mapToLong(CpuUse::cpuNanosWithEndedChildren)
                .sum();
        nanos.put(JIT, jit);
        nanos.put(GC, gc);
        nanos.put(REST_OF_JVM, process - javaThreads - jit - gc);
        nanos.put(POSTGRES, postgres);
        return new Snapshot(nanos);
    }

    /**
     * CPU time of each thread of this process by its kernel name (JVM-internal threads such as the compilers are not
     * Java threads, so ThreadMXBean does not see them); summed over threads of the same name.
     */
    private static Map<String, Long> nativeThreadCpuNanos() {
        Map<String, Long> byName = new LinkedHashMap<>();
        Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks)) {
            return byName;
        }
        try (Stream<Path> threads = Files.list(tasks)) {
            threads.forEach(thread -> {
                try {
                    String stat = Files.readString(thread.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                    byName.merge(name, statCpuNanos(stat, false), Long::sum);
                } catch (IOException | RuntimeException e) {
                    // the thread ended while being read
                }
            });
        } catch (IOException e) {
            return byName;
        }
        return byName;
    }

    /**
     * A process's CPU time plus that of its children that ended and were reaped (Linux: utime, stime, cutime and cstime
     * of /proc/PID/stat). PostgreSQL serves each connection and each autovacuum run in a process of its own: counting the
     * live processes only lost the CPU of those that ended during a phase (the naive path's connections, closed before
     * its end; an autovacuum worker), or made it negative. Their parent, the server's main process, holds it.
     */
    static long cpuNanosWithEndedChildren(ProcessHandle process) {
        try {
            return statCpuNanos(Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat")), true);
        } catch (IOException | RuntimeException e) {
            return cpuNanos(process); // not Linux, or the process ended while being read
        }
    }

    /**
     * The CPU time in a /proc stat line: utime and stime, and with {@code endedChildren} also cutime and cstime (fields
     * 14 to 17; counted after the name, which may hold spaces, in parentheses).
     */
    private static long statCpuNanos(String stat, boolean endedChildren) {
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        if (endedChildren) {
            ticks += Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
        }
        return ticks * NANOS_PER_CLOCK_TICK;
    }

    private static long cpuNanos(ProcessHandle process) {
        return process.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }
}
