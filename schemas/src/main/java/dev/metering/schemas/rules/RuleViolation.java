package dev.metering.schemas.rules;

import dev.metering.schemas.DeadLetter;

/**
 * An event breaks one of the {@link EventRules}. The message names no field; {@link #field()} does, so each
 * API can print it in its own terms (a JSON path, a header, a path parameter) and the aggregator in the
 * DLQ detail.
 */
public final class RuleViolation extends IllegalArgumentException {
    /** What kind of rule was broken; each maps to one DLQ reason. */
    public enum Kind {
        MISSING(DeadLetter.Reason.MISSING_FIELD),
        INVALID(DeadLetter.Reason.INVALID_VALUE),
        FUTURE(DeadLetter.Reason.FUTURE),
        LATE(DeadLetter.Reason.LATE);

        private final DeadLetter.Reason deadLetterReason;

        Kind(DeadLetter.Reason deadLetterReason) {
            this.deadLetterReason = deadLetterReason;
        }

        public DeadLetter.Reason deadLetterReason() {
            return deadLetterReason;
        }
    }

    private final String field;
    private final Kind kind;
    private final String problem;

    public RuleViolation(String field, Kind kind, String problem) {
        super(field + " " + problem);
        this.field = field;
        this.kind = kind;
        this.problem = problem;
    }

    /** The field as the rules name it (Avro field name unless the caller passed its own name). */
    public String field() {
        return field;
    }

    public Kind kind() {
        return kind;
    }

    /** The message without the field name, e.g. "is longer than 100 characters". */
    public String problem() {
        return problem;
    }

    /** The same violation, reported under another name for the field (e.g. {@code usages[2].source}). */
    public RuleViolation renamed(String fieldName) {
        return new RuleViolation(fieldName, kind, problem);
    }
}
