package dev.metering.ingest.publish;

/**
 * The events of a request were not durably stored: the store did not acknowledge them in time or refused them. What
 * a publisher's future fails with; answered 503 (413 when {@link #tooLarge}) with the API's own words, never this text.
 */
public final class PublishFailure extends RuntimeException {
    private final boolean tooLarge;

    public PublishFailure(String message, Throwable cause, boolean tooLarge) {
        super(message, cause);
        this.tooLarge = tooLarge;
    }

    /** An event is larger than the store accepts: retrying the same request cannot succeed. */
    public boolean tooLarge() {
        return tooLarge;
    }
}
