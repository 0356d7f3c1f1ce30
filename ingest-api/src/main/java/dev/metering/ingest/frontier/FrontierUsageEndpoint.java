package dev.metering.ingest.frontier;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metering.ingest.auth.BasicAuthenticator;
import dev.metering.ingest.auth.FrontierCredential;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorFormat;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ingest.http.PathParameters;
import dev.metering.ingest.validation.JsonFields;
import dev.metering.ingest.validation.RequestRules;
import io.javalin.http.Context;
import dev.metering.avro.UsageEvent;
import dev.metering.ingest.revert.DuplicateCheck;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Frontier's {@code CreateBillingUsage} on each route Frontier clients call ({@link Form}): the REST path form, the
 * REST body form (grpc-gateway's additional binding) and Connect unary JSON. One mapping
 * ({@link CreateBillingUsage}), one authentication (HTTP Basic, bound to the org the request names), one set of rules;
 * the routes differ only in where the org and billing account come from and in the error shape. As protojson with
 * {@code DiscardUnknown} does, unknown JSON members are skipped on every route and counted
 * ({@code ingest_unknown_fields_ignored_total{api="frontier"}}).
 */
public final class FrontierUsageEndpoint extends FrontierEndpoint {
    public static final String PATH = "/v1beta1/organizations/{orgId}/billing/{billingId}/usages";
    /**
     * The path form as registered: wildcards, not Javalin path parameters, because Javalin decodes those leniently
     * (and fails with an exception on {@code %u0041}) before any handler runs; {@link #pathParameters} decodes them strictly.
     */
    public static final String ROUTE = "/v1beta1/organizations/*/billing/*/usages";
    /** The body form: org_id and billing_id in the body. */
    public static final String BODY_PATH = "/v1beta1/organizations/billing/usages";
    /** Connect: {@code /<package>.<Service>/<Method>}. */
    public static final String CONNECT_PATH = "/raystack.frontier.v1beta1.FrontierService/CreateBillingUsage";
    public static final String ORIGIN = "frontier";
    /** The path parameters as errors name them (decoded, then held to the identifier rules like body fields). */
    public static final String ORG_PARAMETER = "orgId";
    public static final String BILLING_PARAMETER = "billingId";

    /** A route of the call, and so where the org and the billing account come from and how errors look. */
    public enum Form {
        /** {@link #PATH}: org and billing account in the path (body values, if sent, must equal them). */
        PATH_FORM(ErrorFormat.GRPC_GATEWAY),
        /** {@link #BODY_PATH}: {@code org_id} (required) and {@code billing_id} in the body. */
        BODY_FORM(ErrorFormat.GRPC_GATEWAY),
        /** {@link #CONNECT_PATH}: the body form's message over Connect unary JSON, with Connect's errors. */
        CONNECT(ErrorFormat.CONNECT);

        private final ErrorFormat errors;

        Form(ErrorFormat errors) {
            this.errors = errors;
        }

        /** The error shape of the route. */
        public ErrorFormat errors() {
            return errors;
        }
    }

    private final RequestRules rules;
    private final DuplicateCheck duplicates;

    public FrontierUsageEndpoint(Form form, Http http, RequestRules rules, DuplicateCheck duplicates, BasicAuthenticator authenticator) {
        super(form, http, authenticator);
        this.rules = rules;
        this.duplicates = duplicates;
    }

    /** Checked on the path form before the body is read (400, 403); the other forms name the org in the body: {@link #prepare} checks it. */
    @Override
    protected String pathOrg(Context ctx) {
        return RequestRules.identifier(ORG_PARAMETER, pathParameters(ctx)[0]);
    }

    @Override
    protected int eventCount(JsonNode body) {
        JsonNode usages = body == null || !body.isObject() ? null : body.has("usages") ? body.get("usages") : null;
        return usages != null && usages.isArray() ? Math.max(1, usages.size()) : 1;
    }

    @Override
    protected Prepared prepare(Context ctx, JsonNode body, FrontierCredential credential) {
        JsonFields request = JsonFields.readIgnoringUnknown(body, "", CreateBillingUsage.REQUEST_FIELDS, this::ignored);
        CreateBillingUsage.Target target = form == Form.PATH_FORM
                ? CreateBillingUsage.Target.fromPath(pathParameters(ctx)[0], pathParameters(ctx)[1], request)
                : CreateBillingUsage.Target.fromBody(request);
        BasicAuthenticator.requireOrg(credential, target.org());
        return new Prepared(CreateBillingUsage.toEvents(target, request, rules, this::ignored), json().createObjectNode());
    }

    /**
     * Duplicates as Frontier answers them: the usages are produced asking the aggregator for a verdict each
     * ({@link DuplicateCheck}); when any of them was applied before (same id in this tenant, account and the FRONTIER
     * id space) the answer is 409 {@code already_exists} (grpc-gateway code 6 on REST), while the new usages of the
     * request are applied all the same, as Frontier applies them. Verdicts that do not come within
     * {@code INGEST_DUPLICATE_CHECK_WAIT} count as new (200): the aggregator's dedupe decides the count either way.
     */
    @Override
    protected CompletableFuture<Reply> send(Prepared prepared) {
        List<UsageEvent> usages = prepared.events();
        return duplicates.verdicts(usages).thenApply(verdicts -> {
            List<String> before = new ArrayList<>();
            for (int i = 0; i < verdicts.size(); i++) {
                if (appliedBefore(verdicts.get(i))) {
                    before.add("'" + usages.get(i).getEventId() + "'");
                }
            }
            if (!before.isEmpty()) {
                int applied = usages.size() - before.size();
                throw new ApiException(ErrorKind.ALREADY_EXISTS, "usage already exists: " + String.join(", ", before)
                        + (before.size() == 1 ? " was" : " were") + " applied before and counted once; "
                        + (applied == 0 ? "no other usage in this request" : applied + " other usage" + (applied == 1 ? " of this request was" : "s of this request were") + " applied"));
            }
            return new Reply(200, prepared.successBody());
        });
    }

    /**
     * A usage id Frontier would find in its table: applied before with the same payload (DUPLICATE), or with another
     * payload (REJECTED as CONFLICT; the first one counts).
     */
    static boolean appliedBefore(Verdict verdict) {
        return verdict != null && (verdict.outcome() == Verdict.Outcome.DUPLICATE
                || verdict.outcome() == Verdict.Outcome.REJECTED && verdict.rejectionReason() == DeadLetter.Reason.CONFLICT);
    }

    private void ignored(String field) {
        metrics().unknownFieldIgnored(ORIGIN);
    }

    /**
     * {@code orgId} and {@code billingId}, decoded strictly from the raw path: segments 3 and 5 of
     * {@code /v1beta1/organizations/{orgId}/billing/{billingId}/usages}; any other shape is not this endpoint (404).
     */
    static String[] pathParameters(Context ctx) {
        String path = ctx.req().getRequestURI();
        String[] segments = path == null ? new String[0] : path.split("/", -1);
        if (segments.length != 7 || !segments[1].equals("v1beta1") || !segments[2].equals("organizations") || !segments[4].equals("billing")
                || !segments[6].equals("usages")) {
            throw new ApiException(ErrorKind.NOT_FOUND, "no endpoint POST " + ctx.path() + "; usages go to " + PATH + " or " + BODY_PATH);
        }
        return new String[] {PathParameters.decode(segments[3], ORG_PARAMETER), PathParameters.decode(segments[5], BILLING_PARAMETER)};
    }
}
