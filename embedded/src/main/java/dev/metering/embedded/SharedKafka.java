package dev.metering.embedded;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A JUnit 5 extension that gives every test class of a test run (one test JVM) the same embedded broker: started by
 * the first class that asks for it, stopped when the run ends. Starting a broker takes seconds; classes that neither
 * stop the broker nor need its logs to themselves should share one.
 *
 * <pre>{@code
 * @ExtendWith(SharedKafka.class)
 * class SomethingIT {
 *     @BeforeAll
 *     static void start(EmbeddedKafka kafka) { ... }
 * }
 * }</pre>
 *
 * Sharing classes must keep their data apart (their own topics, consumer groups, account or id prefixes).
 */
public final class SharedKafka implements ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SharedKafka.class);

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == EmbeddedKafka.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return broker(context);
    }

    /** The run's broker, started on first use; the root context's store closes it when the run ends. */
    public static EmbeddedKafka broker(ExtensionContext context) {
        return context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent("broker", key -> new Running(EmbeddedKafka.start()), Running.class).kafka();
    }

    @SuppressWarnings("deprecation") // CloseableResource: closed with the store on every JUnit 5 version we may meet
    private record Running(EmbeddedKafka kafka) implements ExtensionContext.Store.CloseableResource {
        @Override
        public void close() {
            kafka.close();
        }
    }
}
