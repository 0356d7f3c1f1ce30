package dev.metering.ingest.http;

import dev.metering.ops.http.InvalidFieldException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Path parameters decoded strictly from the raw request URI: {@code %XX} escapes of UTF-8 bytes, nothing else
 * ({@code +} is a plus sign). A malformed escape or bytes that are not UTF-8 (an encoded surrogate, a cut-off
 * sequence) are refused, never replaced by U+FFFD as a lenient decoder would (two different paths must not become
 * the same identifier). The decoded value then meets the same identifier rules as a body field.
 */
public final class PathParameters {
    private PathParameters() {
    }

    public static String decode(String raw, String field) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                int high = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
                int low = high < 0 ? -1 : Character.digit(raw.charAt(i + 2), 16);
                if (low < 0) {
                    throw new InvalidFieldException(field, "holds a '%' that does not start an escape like %20");
                }
                bytes.write(high << 4 | low);
                i += 2;
            } else if (c < 0x80) {
                bytes.write(c);
            } else {
                byte[] encoded = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(encoded, 0, encoded.length);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new InvalidFieldException(field, "is not UTF-8 once its %-escapes are decoded");
        }
    }
}
