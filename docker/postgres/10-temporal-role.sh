#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume.
# Temporal gets a login role of its own that owns only its two databases; the
# ledger's role (POSTGRES_USER, the server's superuser) is never handed to it.
# No `set -eu`: the image sources a script that is not executable, and the
# options would then leak into its own entrypoint. psql stops at the first
# error (ON_ERROR_STOP) and its status is the script's.

: "${TEMPORAL_DB_USER:?TEMPORAL_DB_USER is not set}"
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v role="$TEMPORAL_DB_USER" -v password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE temporal OWNER :"role";
CREATE DATABASE temporal_visibility OWNER :"role";
-- Only the owning role (and superusers) may connect to each database: the
-- Temporal role cannot reach the ledger, nor other roles Temporal's data.
REVOKE CONNECT ON DATABASE temporal FROM PUBLIC;
REVOKE CONNECT ON DATABASE temporal_visibility FROM PUBLIC;
SELECT format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SQL
