package dev.metering.aggregator.validation;

import dev.metering.schemas.DeadLetter;

/** Why a record is dead-lettered: the reason header and a detail naming the offending field. */
public record Rejection(DeadLetter.Reason reason, String detail) {
}
