-- The auth service's own database role (psql variables: app_user, app_password, db).
-- It is no superuser and cannot create databases or roles; it owns one schema, named like the
-- role so that it comes first on the default search_path ("$user", public), and nothing else.
-- Run once by deploy/postgres/initdb/10-app-role.sh when the data directory is created, and by
-- tests/deploy/test_infra_secrets.py against a real server; deploy/k8s mounts it from a ConfigMap.
\set ON_ERROR_STOP on
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE SCHEMA :"app_user" AUTHORIZATION :"app_user";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app_user";
