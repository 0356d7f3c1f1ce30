package dev.metering.ingest.frontier;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.ingest.auth.BasicAuthenticator;
import dev.metering.ingest.auth.FrontierCredential;
import dev.metering.ingest.frontier.FrontierUsageEndpoint.Form;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ingest.http.Headers;
import dev.metering.ingest.http.PathParameters;
import dev.metering.ingest.http.TimeOrderedIds;
import dev.metering.ingest.revert.RevertService;
import dev.metering.ops.http.InvalidFieldException;
import dev.metering.ingest.validation.JsonFields;
import dev.metering.ingest.validation.RequestRules;
import dev.metering.schemas.DeadLetter;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Frontier's {@code RevertBillingUsage} on each route Frontier clients call ({@link Form}): the REST path form
 * {@value #PATH} with {@code {"amount": "<int64>"}}, the REST body form {@value #BODY_PATH} and Connect unary JSON
 * {@value #CONNECT_PATH}, both with {@code org_id}, {@code billing_id}, {@code usage_id}, {@code amount} in the body.
 * Authentication (HTTP Basic, bound to the org), lenient reading (unknown members skipped and counted), {@code project_id}
 * and the missing {@code billing_id} are handled as for {@code CreateBillingUsage} ({@link CreateBillingUsage.Target}).
 *
 * <p>The answer is the aggregator's verdict ({@link RevertService}), in the route's error shape: 200 {@code {}} once the
 * amount is subtracted from the usage's hour; 400 {@code invalid_argument} when it exceeds what remains of the usage
 * ("revert amount is greater than the usage amount", as Frontier says), for an unknown usage, an hour past its grace
 * period; 409 {@code already_exists} for a revert of a revert (or an idempotency key used before for something else);
 * 503 {@code unavailable} with {@code Retry-After} without a verdict in time. Id space FRONTIER, tenant = the org.
 *
 * <p>The revert's own id is the {@code Idempotency-Key} header: a retry with the same key is the same revert, applied at
 * most once and answered with the same verdict. Without the header every request is a new revert with a fresh id
 * (UUIDv7), as every call is in Frontier: a client that retries after a timeout or a 503 must send the header.
 */
public final class FrontierRevertEndpoint extends FrontierEndpoint {
    public static final String PATH = "/v1beta1/admin/organizations/{org_id}/billing/{billing_id}/usage/{usage_id}/revert";
    /** The path form as registered: wildcards, decoded strictly by {@link #pathParameters} (see {@link FrontierUsageEndpoint#ROUTE}). */
    public static final String ROUTE = "/v1beta1/admin/organizations/*/billing/*/usage/*/revert";
    public static final String BODY_PATH = "/v1beta1/organizations/billing/usages/revert";
    public static final String CONNECT_PATH = "/raystack.frontier.v1beta1.AdminService/RevertBillingUsage";
    public static final String IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
    public static final String IDEMPOTENCY_KEY_FIELD = IDEMPOTENCY_KEY_HEADER + " header";
    /** Frontier's words for a revert beyond the usage's amount. */
    public static final String EXCEEDS_MESSAGE = "revert amount is greater than the usage amount";
    static final String ORG_PARAMETER = "org_id";
    static final String BILLING_PARAMETER = "billing_id";
    static final String USAGE_PARAMETER = "usage_id";
    static final Set<String> REQUEST_FIELDS = Set.of("org_id", "billing_id", "project_id", "usage_id", "amount");

    private final RequestRules rules;
    private final RevertService reverts;
    private final TimeOrderedIds ids = new TimeOrderedIds();

    public FrontierRevertEndpoint(Form form, Http http, RequestRules rules, RevertService reverts, BasicAuthenticator authenticator) {
        super(form, http, authenticator);
        this.rules = rules;
        this.reverts = reverts;
    }

    @Override
    protected String pathOrg(Context ctx) {
        return RequestRules.identifier(ORG_PARAMETER, pathParameters(ctx)[0]);
    }

    @Override
    protected Prepared prepare(Context ctx, JsonNode body, FrontierCredential credential) {
        JsonFields request = JsonFields.readIgnoringUnknown(body, "", REQUEST_FIELDS, field -> metrics().unknownFieldIgnored(FrontierUsageEndpoint.ORIGIN));
        CreateBillingUsage.Target target;
        String usageId;
        String usageField;
        if (form == Form.PATH_FORM) {
            String[] path = pathParameters(ctx);
            target = CreateBillingUsage.Target.fromPath(path[0], ORG_PARAMETER, path[1], BILLING_PARAMETER, request);
            usageId = RequestRules.identifier(USAGE_PARAMETER, path[2]);
            usageField = USAGE_PARAMETER;
            String inBody = request.string("usage_id");
            if (inBody != null && !inBody.isEmpty() && !RequestRules.identifier(request.path("usage_id"), inBody).equals(usageId)) {
                throw new InvalidFieldException(request.path("usage_id"), "'" + inBody + "' differs from the path's '" + usageId + "'");
            }
        } else {
            target = CreateBillingUsage.Target.fromBody(request);
            usageField = request.path("usage_id");
            String inBody = request.string("usage_id");
            if (inBody == null || inBody.isEmpty()) {
                throw new InvalidFieldException(usageField, "is required");
            }
            usageId = RequestRules.identifier(usageField, inBody);
        }
        BasicAuthenticator.requireOrg(credential, target.org());
        BigDecimal amount = rules.nonNegativeInteger(request.path("amount"), request.node("amount"));
        String key = Headers.utf8(ctx.header(IDEMPOTENCY_KEY_HEADER), IDEMPOTENCY_KEY_FIELD);
        if (key == null) {
            key = ids.nextString(); // Frontier counts every call: a new revert
        }
        String amountField = request.path("amount");
        UsageEvent revert = reverts.prepare(target.org(), target.billing(), IdSpace.FRONTIER, usageId, amount, key, FrontierUsageEndpoint.ORIGIN,
                field -> switch (field) {
                    case "event_id" -> IDEMPOTENCY_KEY_FIELD;
                    case "reverts_event_id" -> usageField;
                    case "quantity" -> amountField;
                    case "billing_account_id" -> target.billingField();
                    case "org_id" -> target.orgField();
                    default -> field;
                });
        return new Prepared(List.of(revert), json().createObjectNode());
    }

    /** The verdict as Frontier's answer: 200 {@code {}} when applied, else the refusal in the route's shape. */
    @Override
    protected CompletableFuture<Reply> send(Prepared prepared) {
        return reverts.send(prepared.events().get(0)).thenApply(verdict -> {
            ApiException refused = RevertService.httpError(verdict);
            if (refused == null) {
                return new Reply(200, prepared.successBody());
            }
            if (verdict.rejectionReason() == DeadLetter.Reason.REVERT_EXCEEDS_USAGE) {
                throw new ApiException(refused.kind(), EXCEEDS_MESSAGE + " (" + verdict.detail() + ")");
            }
            throw refused;
        });
    }

    /**
     * {@code org_id}, {@code billing_id} and {@code usage_id}, decoded strictly from the raw path (segments 4, 6 and 8 of
     * {@value #PATH}); any other shape is not this endpoint (404).
     */
    static String[] pathParameters(Context ctx) {
        String path = ctx.req().getRequestURI();
        String[] segments = path == null ? new String[0] : path.split("/", -1);
        if (segments.length != 10 || !segments[1].equals("v1beta1") || !segments[2].equals("admin") || !segments[3].equals("organizations")
                || !segments[5].equals("billing") || !segments[7].equals("usage") || !segments[9].equals("revert")) {
            throw new ApiException(ErrorKind.NOT_FOUND, "no endpoint POST " + ctx.path() + "; reverts go to " + PATH + " or " + BODY_PATH);
        }
        return new String[] {PathParameters.decode(segments[4], ORG_PARAMETER), PathParameters.decode(segments[6], BILLING_PARAMETER),
                PathParameters.decode(segments[8], USAGE_PARAMETER)};
    }
}
