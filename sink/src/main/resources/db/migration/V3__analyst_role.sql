-- metering_analyst: a NOLOGIN role that may SELECT from the usage_* views and nothing else. Grant it to
-- the login roles of analysts and billing jobs (GRANT metering_analyst TO alice). The views belong to the
-- migrating user, who owns usage_rollups, so they read it through ownership chaining while the role
-- itself has no privilege on any table.
--
-- Roles are per server, so this is idempotent (another database on the same server may have created
-- it). A migrating user without CREATEROLE gets a warning instead; create the role beforehand then.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metering_analyst') THEN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolcreaterole OR rolsuper)) THEN
            BEGIN
                CREATE ROLE metering_analyst NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created concurrently by a migration of another database on this server
            END;
        ELSE
            RAISE WARNING 'metering_analyst does not exist and % may not create roles; create it (CREATE ROLE metering_analyst NOLOGIN) and run the migration again', current_user;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metering_analyst') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO metering_analyst', current_schema());
        GRANT SELECT ON usage_hourly, usage_daily, usage_monthly TO metering_analyst;
    END IF;

    -- Like PostgreSQL 15+ does by default: nobody but the schema's owner creates objects in it, so the
    -- analyst role cannot write anything, not even tables of its own. Only possible for the schema owner.
    IF pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE nspname = current_schema()), 'USAGE') THEN
        EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', current_schema());
    END IF;
END
$$;
