package dev.metering.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The README's {@code java -jar <module>/target/<name>.jar}: each runnable jar names its libraries in its manifest
 * (target/lib/, copied by the build), so the jar runs with nothing else on the command line.
 */
class RunnableJarsIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            // module | jar | argument | environment (one bad setting, so a service stops after reading its configuration) | what it prints
            "standalone | metering-standalone | --help |                     | Usage: metering-standalone",
            "aggregator | metering-aggregator |        |                     | KAFKA_BOOTSTRAP_SERVERS must be set",
            "ingest-api | metering-ingest-api |        | INGEST_HTTP_PORT=x  | INGEST_HTTP_PORT='x' is not an integer",
            "sink       | metering-sink       |        |                     | DATABASE_URL must be set",
            "query-api  | metering-query-api  |        |                     | DATABASE_URL must be set"})
    void runsWithJavaDashJarAndFindsEveryLibrary(String module, String jarName, String argument, String setting, String expectedOutput) throws Exception {
        Path jar = ROOT.resolve(module).resolve("target").resolve(jarName + ".jar");
        // This module's own jar is always built before its ITs; the others when the reactor built them.
        Assumptions.assumeTrue(module.equals("standalone") || Files.exists(jar), () -> jar + " not built in this run");

        List<String> classPath = manifestClassPath(jar);
        assertThat(classPath).as("%s names its libraries", jar.getFileName()).isNotEmpty();
        for (String entry : classPath) {
            assertThat(jar.resolveSibling(entry)).as("library named in %s's manifest", jar.getFileName()).isRegularFile();
        }

        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString()));
        if (argument != null) {
            command.add(argument);
        }
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().keySet().removeIf(name -> name.startsWith("KAFKA_") || name.startsWith("DATABASE_") || name.startsWith("INGEST_"));
        if (setting != null) {
            builder.environment().put(setting.substring(0, setting.indexOf('=')), setting.substring(setting.indexOf('=') + 1));
        }
        Process process = builder.start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("%s exits", jar.getFileName()).isTrue();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(output).as("output of java -jar %s", jar.getFileName()).contains(expectedOutput).doesNotContain("ClassNotFoundException", "NoClassDefFoundError");
    }

    private static List<String> manifestClassPath(Path jar) throws IOException {
        try (JarFile file = new JarFile(jar.toFile())) {
            Manifest manifest = file.getManifest();
            assertThat(manifest.getMainAttributes().getValue("Main-Class")).as("%s has a Main-Class", jar.getFileName()).isNotBlank();
            String classPath = manifest.getMainAttributes().getValue("Class-Path");
            return classPath == null ? List.of() : Arrays.asList(classPath.trim().split("\\s+"));
        }
    }
}
