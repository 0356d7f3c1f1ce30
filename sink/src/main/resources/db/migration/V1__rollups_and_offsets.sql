-- The sink's tables. usage_rollups holds the latest version of every rollup window; sink_offsets
-- holds, per consumer group and topic partition, the offset of the next record to read. Both are
-- written in the same transaction, which is what makes the sink exactly-once into PostgreSQL.

CREATE TABLE usage_rollups (
    billing_account_id text           NOT NULL,
    feature_code       text           NOT NULL,
    window_size        text           NOT NULL CHECK (window_size IN ('HOUR', 'DAY')),
    window_start       timestamptz    NOT NULL,
    window_end         timestamptz    NOT NULL,
    event_count        bigint         NOT NULL CHECK (event_count > 0),
    quantity_sum       numeric(38, 12) NOT NULL,
    latest_value       numeric(38, 12) NOT NULL,
    latest_value_type  text           NOT NULL CHECK (latest_value_type IN ('DELTA', 'ABSOLUTE')),
    latest_event_time  timestamptz    NOT NULL,
    latest_event_id    text           NOT NULL,
    min_value          numeric(38, 12) NOT NULL,
    max_value          numeric(38, 12) NOT NULL,
    first_event_time   timestamptz    NOT NULL,
    last_event_time    timestamptz    NOT NULL,
    -- when the aggregator produced this version
    updated_at         timestamptz    NOT NULL,
    -- when the sink wrote it
    stored_at          timestamptz    NOT NULL DEFAULT now(),
    PRIMARY KEY (billing_account_id, feature_code, window_size, window_start),
    CHECK (window_end > window_start)
);

COMMENT ON TABLE usage_rollups IS 'One row per (billing account, feature, window); written only by the metering sink. Analysts read the usage_* views.';

-- "usage of one account this month, by feature": account + window size + time range over all features.
CREATE INDEX usage_rollups_account_window_idx ON usage_rollups (billing_account_id, window_size, window_start);
-- "top accounts by a feature yesterday": feature + window size + time range over all accounts.
CREATE INDEX usage_rollups_feature_window_idx ON usage_rollups (feature_code, window_size, window_start);
-- (account, feature, window size, time range) series use the primary key.

CREATE TABLE sink_offsets (
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    partition      integer     NOT NULL CHECK (partition >= 0),
    next_offset    bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

COMMENT ON TABLE sink_offsets IS 'Next offset to consume per consumer group and topic partition; the source of truth for the sink''s position (nothing is committed to Kafka).';

-- Records the sink could not turn into a rollup (undecodable or invalid). They are kept here, in the
-- same transaction that moves the offsets past them, so nothing is skipped without a trace.
CREATE TABLE sink_rejected_records (
    topic         text        NOT NULL,
    partition     integer     NOT NULL,
    record_offset bigint      NOT NULL,
    reason        text        NOT NULL,
    detail        text        NOT NULL,
    record_key    bytea,
    record_value  bytea,
    rejected_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, record_offset)
);

REVOKE ALL ON usage_rollups, sink_offsets, sink_rejected_records FROM PUBLIC;
