package dev.metering.ingest.http;

import dev.metering.ops.http.InvalidFieldException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Header values that are identifiers. */
public final class Headers {
    private Headers() {
    }

    /**
     * The header's value read as UTF-8, or null when absent. The HTTP server hands header bytes over one char per
     * byte (ISO-8859-1), which would turn a UTF-8 {@code café} into {@code cafÃ©}; the bytes are decoded here as
     * UTF-8 instead, and bytes that are not UTF-8 are refused rather than stored as another string.
     */
    public static String utf8(String value, String field) {
        if (value == null) {
            return null;
        }
        byte[] bytes = new byte[value.length()];
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c > 0xFF) { // not from the wire; nothing to re-decode
                return value;
            }
            bytes[i] = (byte) c;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new InvalidFieldException(field, "is not UTF-8");
        }
    }
}
