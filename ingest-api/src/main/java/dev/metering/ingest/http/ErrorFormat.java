package dev.metering.ingest.http;

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

    static String kindeCode(ErrorKind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> "BAD_REQUEST";
            case UNAUTHENTICATED -> "UNAUTHORIZED";
            case PERMISSION_DENIED -> "FORBIDDEN";
            case NOT_FOUND -> "ROUTE_NOT_FOUND";
            case ALREADY_EXISTS -> "CONFLICT";
            case PAYLOAD_TOO_LARGE -> "PAYLOAD_TOO_LARGE";
            case UNSUPPORTED_MEDIA_TYPE -> "UNSUPPORTED_MEDIA_TYPE";
            case RATE_LIMITED -> "TOO_MANY_REQUESTS";
            case UNAVAILABLE -> "SERVICE_UNAVAILABLE";
            case INTERNAL -> "INTERNAL_SERVER_ERROR";
        };
    }

    /** Which API a path belongs to, for answers outside the endpoints (404, 500). */
    public static ErrorFormat forPath(String path) {
        if (path.startsWith("/v1beta1/")) {
            return GRPC_GATEWAY;
        }
        if (path.startsWith("/api/")) {
            return KINDE;
        }
        return NATIVE;
    }
}
