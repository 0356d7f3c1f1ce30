package dev.metering.ops.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Secrets are kept and compared as SHA-256 digests with {@link MessageDigest#isEqual}, so the time a
 * comparison takes says nothing about how much of a guess was right (nor about the secret's length).
 */
public final class Secrets {
    private Secrets() {
    }

    public static byte[] digest(String secret) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    public static boolean matches(String presented, byte[] expectedDigest) {
        return MessageDigest.isEqual(digest(presented), expectedDigest);
    }
}
