-- metering_query: a NOLOGIN role for the query API (issue 15). It may read the hourly rollups (the API composes
-- days, months and ranges in any time zone from them with metering_billable, so it needs the hours, not the UTC
-- views) and the sink's progress (sink_offsets, for the answers' as_of), and nothing else: no INSERT, UPDATE or
-- DELETE anywhere, no CREATE in the schema (V3 revoked it from PUBLIC). Grant it to the query API's login role:
--   CREATE ROLE query_api LOGIN PASSWORD '...' IN ROLE metering_query;
--
-- Created like metering_analyst in V3: idempotent per server, a warning when the migrating user may not create
-- roles (then create it beforehand: CREATE ROLE metering_query NOLOGIN, and run the migration again).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metering_query') THEN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolcreaterole OR rolsuper)) THEN
            BEGIN
                CREATE ROLE metering_query NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created concurrently by a migration of another database on this server
            END;
        ELSE
            RAISE WARNING 'metering_query does not exist and % may not create roles; create it (CREATE ROLE metering_query NOLOGIN) and run the migration again', current_user;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metering_query') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO metering_query', current_schema());
        GRANT SELECT ON usage_rollups, usage_hourly, usage_daily, usage_monthly TO metering_query;
        GRANT SELECT (consumer_group, topic, partition, updated_at) ON sink_offsets TO metering_query;
        GRANT EXECUTE ON FUNCTION metering_billable_step(numeric, boolean, numeric) TO metering_query;
        GRANT EXECUTE ON FUNCTION metering_billable(boolean, numeric) TO metering_query;
    END IF;
END
$$;
