#!/bin/sh
# Runs once, when the postgres container creates its data directory (docker-entrypoint-initdb.d):
# the auth service's non-superuser role, owning only its schema (see app-role.sql).
set -eu
psql --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_user="$AUTH_DB_USER" -v app_password="$AUTH_DB_PASSWORD" -v db="$POSTGRES_DB" \
  -f "${APP_ROLE_SQL:-/pixelplay/app-role.sql}"
