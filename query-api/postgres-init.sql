-- Run once by the postgres image when its volume is new (docker-compose.yml mounts it into /docker-entrypoint-initdb.d):
-- the query API's login role, a member of metering_query, which the sink's migration V6 grants SELECT on the rollups.
-- Change the password (and QUERY_DATABASE_PASSWORD in docker-compose.yml) for anything but a demo.
CREATE ROLE metering_query NOLOGIN;
CREATE ROLE query_api LOGIN PASSWORD 'query-api' IN ROLE metering_query;
