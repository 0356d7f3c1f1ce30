package dev.metering.ops.http;

/**
 * What went wrong with a request, independent of the API's error shape. Each API renders it its own way
 * (grpc-gateway, Kinde, native), always with this HTTP status.
 */
public enum ErrorKind {
    INVALID_ARGUMENT(400, 3, "invalid"),
    UNAUTHENTICATED(401, 16, "unauthenticated"),
    PERMISSION_DENIED(403, 7, "forbidden"),
    NOT_FOUND(404, 5, "not_found"),
    ALREADY_EXISTS(409, 6, "conflict"),
    PAYLOAD_TOO_LARGE(413, 8, "too_large"),
    UNSUPPORTED_MEDIA_TYPE(415, 3, "unsupported_media_type"),
    RATE_LIMITED(429, 8, "rate_limited"),
    /** A form of the call this server does not implement (a compression, a protocol version). */
    UNIMPLEMENTED(501, 12, "unimplemented"),
    UNAVAILABLE(503, 14, "unavailable"),
    INTERNAL(500, 13, "internal");

    private final int httpStatus;
    private final int grpcCode;
    private final String metricReason;

    ErrorKind(int httpStatus, int grpcCode, String metricReason) {
        this.httpStatus = httpStatus;
        this.grpcCode = grpcCode;
        this.metricReason = metricReason;
    }

    public int httpStatus() {
        return httpStatus;
    }

    /** The google.rpc.Code grpc-gateway would put in its error body. */
    public int grpcCode() {
        return grpcCode;
    }

    /** The {@code reason} tag of the rejection metrics. */
    public String metricReason() {
        return metricReason;
    }
}
