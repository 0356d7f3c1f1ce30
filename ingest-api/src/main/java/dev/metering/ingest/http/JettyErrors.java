package dev.metering.ingest.http;

import dev.metering.ops.http.ErrorFormat;
import dev.metering.ops.http.ErrorKind;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.handler.ErrorHandler;

/**
 * Answers for requests the HTTP server itself refuses, in our words and as JSON instead of Jetty's HTML page.
 *
 * <p>Some requests are refused while Jetty still parses them (a {@code %00} or a malformed escape in the path,
 * header fields too large): no endpoint is known yet, so the body holds every API's error shape at once —
 * grpc-gateway's {@code code} (number), {@code message} and {@code details}, and Kinde's {@code errors} — which
 * Frontier and Kinde clients read as their own; native clients read {@code code} and {@code message} (the code is
 * then the number, not the name). Refusals after parsing get the shape of the API the path belongs to.
 */
public final class JettyErrors extends ErrorHandler {
    private final ObjectMapper json;

    public JettyErrors(ObjectMapper json) {
        this.json = json;
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        ErrorKind kind = kindOf(status);
        String message = messageOf(status);
        ObjectNode body = ErrorFormat.GRPC_GATEWAY.render(json, kind, message);
        body.setAll(ErrorFormat.KINDE.render(json, kind, message));
        fields.put(HttpHeader.CONTENT_TYPE, "application/json");
        try {
            return ByteBuffer.wrap(json.writeValueAsBytes(body));
        } catch (IOException e) {
            return ByteBuffer.wrap(new byte[0]);
        }
    }

    @Override
    public void handle(String target, Request baseRequest, HttpServletRequest request, HttpServletResponse response) throws IOException {
        int status = response.getStatus();
        String path = request.getRequestURI() == null ? "/" : request.getRequestURI();
        byte[] body = json.writeValueAsBytes(ErrorFormat.forPath(path).render(json, kindOf(status), messageOf(status)));
        baseRequest.setHandled(true);
        response.setContentType("application/json");
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    private static ErrorKind kindOf(int status) {
        return switch (status) {
            case 401 -> ErrorKind.UNAUTHENTICATED;
            case 403 -> ErrorKind.PERMISSION_DENIED;
            case 404 -> ErrorKind.NOT_FOUND;
            case 413, 414, 431 -> ErrorKind.PAYLOAD_TOO_LARGE;
            case 415 -> ErrorKind.UNSUPPORTED_MEDIA_TYPE;
            case 429 -> ErrorKind.RATE_LIMITED;
            case 503 -> ErrorKind.UNAVAILABLE;
            default -> status >= 500 ? ErrorKind.INTERNAL : ErrorKind.INVALID_ARGUMENT;
        };
    }

    private static String messageOf(int status) {
        return switch (status) {
            case 400 -> "the request line or headers are malformed (a character such as %00 in the path, an invalid %-escape, a bad header)";
            case 413 -> "request body is too large";
            case 414 -> "request URI is too long";
            case 431 -> "request header fields are too large";
            default -> status >= 500 ? "internal error; nothing was written" : "the request could not be read";
        };
    }
}
