package dev.metering.ingest.auth;

/** A key of the native API: a name (shown in logs, metrics and rate limits) and the secret key itself. */
public record ApiKey(String name, String key) {
    public ApiKey {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("API key entry has an empty name");
        }
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("API key '" + name + "' is empty");
        }
    }

    /** Parses {@code name:key} (the key may contain colons). */
    public static ApiKey parse(String text) {
        String entry = text.strip();
        int colon = entry.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("API key entry must look like name:key");
        }
        return new ApiKey(entry.substring(0, colon), entry.substring(colon + 1));
    }

    /** Never shows the key. */
    @Override
    public String toString() {
        return "ApiKey[name=" + name + ", key=***]";
    }
}
