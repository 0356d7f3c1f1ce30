package dev.metering.ops;

import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code main} of every service: read the configuration from the environment, start, and stop
 * gracefully on SIGTERM or Ctrl-C. A configuration error exits with 2 and one line naming the
 * variable; a failure to start exits with 1.
 */
public final class ServiceRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ServiceRunner.class);

    private ServiceRunner() {
    }

    public static <C, S extends AutoCloseable> void run(String name, Function<Env, C> readConfig, Function<C, S> create, Consumer<S> start) {
        run(name, readConfig, create, start, null);
    }

    /**
     * @param awaitFailure for a service whose work can die on its own: blocks until the service stopped and
     *                     returns why (null when it was closed); a failure exits with 1 so a supervisor restarts it
     */
    public static <C, S extends AutoCloseable> void run(String name, Function<Env, C> readConfig, Function<C, S> create, Consumer<S> start,
                                                        FailureWatch<S> awaitFailure) {
        C config;
        try {
            config = readConfig.apply(Env.system());
        } catch (IllegalArgumentException e) {
            System.err.println(name + ": configuration error: " + e.getMessage());
            System.exit(2);
            return;
        }
        S service = create.apply(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            closeQuietly(name, service);
            stopped.countDown();
        }, name + "-shutdown"));
        try {
            start.accept(service);
        } catch (RuntimeException e) {
            LOG.error("{} could not start: {}", name, e.getMessage(), e);
            System.exit(1);
        }
        try {
            if (awaitFailure != null && awaitFailure.await(service) != null) {
                System.exit(1);
            }
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Blocks until the service stopped by itself or was closed; answers the failure, or null. */
    @FunctionalInterface
    public interface FailureWatch<S> {
        Throwable await(S service) throws InterruptedException;
    }

    private static void closeQuietly(String name, AutoCloseable service) {
        try {
            service.close();
        } catch (Exception e) {
            LOG.warn("{} did not stop cleanly: {}", name, e.getMessage(), e);
        }
    }
}
