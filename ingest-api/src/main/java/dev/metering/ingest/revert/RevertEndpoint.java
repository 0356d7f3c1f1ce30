package dev.metering.ingest.revert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.ops.auth.ApiKey;
import dev.metering.ops.auth.ApiKeyAuthenticator;
import dev.metering.ops.http.ApiException;
import dev.metering.ingest.http.ApiKeyEndpoint;
import dev.metering.ingest.validation.JsonFields;
import dev.metering.ingest.validation.RequestRules;
import io.javalin.http.Context;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The native revert: {@code POST /v1/events:revert} with {@code {"billing_account_id", "event_id" (the usage),
 * "amount", "org_id"?}} and an {@code Idempotency-Key} header (required: the revert's own id; send the same key on
 * every attempt). Answers with the aggregator's verdict: 200 {@code {"status": "applied", ...}} once the amount is
 * subtracted; 400 {@code INVALID_ARGUMENT} for an unknown usage, more than what remains of it, an ABSOLUTE usage or a
 * usage whose hour closed; 409 {@code ALREADY_EXISTS} for a revert of a revert or a key already used for something
 * else; 503 with {@code Retry-After} when no verdict came in time (retry with the same key: the revert is applied at
 * most once, and the retry gets the verdict). Tenant and ids as in {@code /v1/events:batch} (NATIVE id space).
 */
public final class RevertEndpoint extends ApiKeyEndpoint {
    public static final String PATH = "/v1/events:revert";
    public static final String ORIGIN = "revert";
    public static final String IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
    private static final Set<String> FIELDS = Set.of("billing_account_id", "event_id", "amount", "org_id");

    private final RequestRules rules;
    private final RevertService reverts;

    public RevertEndpoint(Http http, RequestRules rules, RevertService reverts, ApiKeyAuthenticator authenticator) {
        super(http, ORIGIN, authenticator);
        this.rules = rules;
        this.reverts = reverts;
    }

    @Override
    protected Prepared prepare(Context ctx, JsonNode body, ApiKey key) {
        JsonFields fields = JsonFields.read(body, "", FIELDS, false);
        String org = key.orgFor(RequestRules.optionalIdentifier("org_id", fields.string("org_id")), "org_id");
        UsageEvent revert = reverts.prepare(org, fields.string("billing_account_id"), IdSpace.NATIVE, fields.string("event_id"),
                rules.quantity("amount", fields.node("amount")), ctx.header(IDEMPOTENCY_KEY_HEADER), ORIGIN,
                field -> RevertService.NATIVE_FIELDS.getOrDefault(field, field));
        return new Prepared(List.of(revert), null);
    }

    @Override
    protected CompletableFuture<Reply> send(Prepared prepared) {
        UsageEvent revert = prepared.events().get(0);
        return reverts.send(revert).thenApply(verdict -> {
            ApiException refused = RevertService.httpError(verdict);
            if (refused != null) {
                throw refused;
            }
            ObjectNode answer = json().createObjectNode();
            answer.put("status", "applied");
            answer.put("billing_account_id", revert.getBillingAccountId());
            answer.put("event_id", revert.getRevertsEventId());
            answer.put("amount", revert.getQuantity().stripTrailingZeros().toPlainString());
            answer.put("idempotency_key", revert.getEventId());
            answer.put("detail", verdict.detail());
            answer.put("repeated", verdict.repeated());
            return new Reply(200, answer);
        });
    }
}
