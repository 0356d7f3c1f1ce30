package dev.metering.ops.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The error body each API's clients expect. */
public enum ErrorFormat {
    /** grpc-gateway (Frontier): {@code {"code": <google.rpc.Code>, "message": "...", "details": []}}. */
    GRPC_GATEWAY {
        @Override
        public ObjectNode render(ObjectMapper json, ErrorKind kind, String message) {
            ObjectNode body = json.createObjectNode();
            body.put("code", kind.grpcCode());
            body.put("message", message);
            body.putArray("details");
            return body;
        }
    },
    /**
     * Connect (Frontier since 2026): {@code {"code": "invalid_argument", "message": "..."}} with Connect's HTTP status
     * for the code ({@link #status}), so a Connect client reads the same code from the body and from the status.
     */
    CONNECT {
        @Override
        public ObjectNode render(ObjectMapper json, ErrorKind kind, String message) {
            ObjectNode body = json.createObjectNode();
            body.put("code", connectCode(kind));
            body.put("message", message);
            return body;
        }

        /**
         * Connect's code-to-status table (resource_exhausted 429, unimplemented 501, ...), with two exceptions the
         * protocol itself makes: an unknown procedure is a 404 and an unsupported Content-Type a 415.
         */
        @Override
        public int status(ErrorKind kind) {
            return switch (kind) {
                case PAYLOAD_TOO_LARGE, RATE_LIMITED -> 429;
                default -> kind.httpStatus();
            };
        }
    },
    /** Kinde: {@code {"errors": [{"code": "...", "message": "..."}]}}. */
    KINDE {
        @Override
        public ObjectNode render(ObjectMapper json, ErrorKind kind, String message) {
            ObjectNode body = json.createObjectNode();
            ObjectNode error = body.putArray("errors").addObject();
            error.put("code", kindeCode(kind));
            error.put("message", message);
            return body;
        }
    },
    /** The native API: {@code {"code": "INVALID_ARGUMENT", "message": "..."}}. */
    NATIVE {
        @Override
        public ObjectNode render(ObjectMapper json, ErrorKind kind, String message) {
            ObjectNode body = json.createObjectNode();
            body.put("code", kind.name());
            body.put("message", message);
            return body;
        }
    };

    public abstract ObjectNode render(ObjectMapper json, ErrorKind kind, String message);

    /** The HTTP status of an error of this kind in this API. */
    public int status(ErrorKind kind) {
        return kind.httpStatus();
    }

    /**
     * The Connect code of a kind. A too large body is {@code resource_exhausted} (as connect-go answers a message over
     * its read limit); an unknown procedure is {@code unimplemented} (what a Connect client derives from a 404, and
     * gRPC's answer for an unknown method); an unsupported Content-Type is {@code invalid_argument}, like the
     * grpc-gateway code 3 of the REST routes.
     */
    static String connectCode(ErrorKind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT, UNSUPPORTED_MEDIA_TYPE -> "invalid_argument";
            case UNAUTHENTICATED -> "unauthenticated";
            case PERMISSION_DENIED -> "permission_denied";
            case NOT_FOUND, UNIMPLEMENTED -> "unimplemented";
            case ALREADY_EXISTS -> "already_exists";
            case PAYLOAD_TOO_LARGE, RATE_LIMITED -> "resource_exhausted";
            case UNAVAILABLE -> "unavailable";
            case INTERNAL -> "internal";
        };
    }

    static String kindeCode(ErrorKind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> "BAD_REQUEST";
            case UNAUTHENTICATED -> "UNAUTHORIZED";
            case PERMISSION_DENIED -> "FORBIDDEN";
            case NOT_FOUND -> "ROUTE_NOT_FOUND";
            case ALREADY_EXISTS -> "CONFLICT";
            case PAYLOAD_TOO_LARGE -> "PAYLOAD_TOO_LARGE";
            case UNSUPPORTED_MEDIA_TYPE -> "UNSUPPORTED_MEDIA_TYPE";
            case UNIMPLEMENTED -> "NOT_IMPLEMENTED";
            case RATE_LIMITED -> "TOO_MANY_REQUESTS";
            case UNAVAILABLE -> "SERVICE_UNAVAILABLE";
            case INTERNAL -> "INTERNAL_SERVER_ERROR";
        };
    }

    /** Which API a path belongs to, for answers outside the endpoints (404, 500). */
    public static ErrorFormat forPath(String path) {
        if (path.startsWith("/raystack.")) {
            return CONNECT;
        }
        if (path.startsWith("/v1beta1/")) {
            return GRPC_GATEWAY;
        }
        if (path.startsWith("/api/")) {
            return KINDE;
        }
        return NATIVE;
    }
}
