package dev.metering.aggregator.replay;

import dev.metering.schemas.DeadLetter.Reason;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -cp metering-aggregator.jar dev.metering.aggregator.replay.DeadLetterReplayCommand --reason PROCESSING_FAILED}. */
@Command(name = "replay-dead-letters", mixinStandardHelpOptions = true,
        description = "Sends the dead letters of the given reasons from usage-events-dlq back to usage-events (key, value and headers as "
                + "produced, without the metering.dlq.* headers), for the aggregator to decide again. Safe to run twice: an event already "
                + "accepted is dropped as a duplicate. A replayed event arrives now: one whose hour closed more than the grace period ago is LATE.")
public final class DeadLetterReplayCommand implements Callable<Integer> {
    @Option(names = "--bootstrap-servers", defaultValue = "${env:KAFKA_BOOTSTRAP_SERVERS}",
            description = "Kafka bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS).")
    String bootstrapServers;

    @Option(names = "--reason", required = true, split = ",",
            description = "Dead-letter reasons to replay, e.g. PROCESSING_FAILED (repeatable or comma-separated): ${COMPLETION-CANDIDATES}.")
    List<Reason> reasons;

    @Option(names = "--dry-run", description = "Count the matching dead letters; send nothing.")
    boolean dryRun;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new DeadLetterReplayCommand()).execute(args));
    }

    @Override
    public Integer call() {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Set --bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS");
        }
        DeadLetterReplay.Result result = new DeadLetterReplay(bootstrapServers).replay(EnumSet.copyOf(reasons), dryRun);
        spec.commandLine().getOut().printf("%d dead letters read, %d with reason %s, %d %s%n", result.read(), result.matched(), reasons,
                dryRun ? result.matched() : result.replayed(), dryRun ? "would be replayed (dry run)" : "replayed to usage-events");
        return 0;
    }
}
