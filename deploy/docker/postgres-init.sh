#!/bin/sh
# deploy/docker/postgres-init.sh: run once by the postgres image on an empty data volume
# (/docker-entrypoint-initdb.d/). Makes what deploy/local/lib.sh makes for a local deployment:
# the schema owner edlive (edlivectl: migrate, accounts), the services' role edlive_app (no
# UPDATE or DELETE on the audit log: the migrations grant it), and the database edlive owned
# by edlive. Passwords come from the compose file's environment.
set -eu
: "${EDLIVE_PG_OWNER_PASSWORD:?set EDLIVE_PG_OWNER_PASSWORD}"
: "${EDLIVE_PG_APP_PASSWORD:?set EDLIVE_PG_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_pw="$EDLIVE_PG_OWNER_PASSWORD" -v app_pw="$EDLIVE_PG_APP_PASSWORD" <<'SQL'
CREATE ROLE edlive LOGIN PASSWORD :'owner_pw';
CREATE ROLE edlive_app LOGIN PASSWORD :'app_pw';
CREATE DATABASE edlive OWNER edlive ENCODING 'UTF8' TEMPLATE template0;
SQL
