#!/bin/sh
# One-shot job (temporalio/admin-tools): brings Temporal's two databases to the
# schema that this server release needs. Safe on every start: setup-schema
# leaves an already newer schema alone and update-schema applies only the
# versions that are missing. The databases themselves and the role that owns
# them are made by the postgres container's init script.
# Connection settings come from SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD in the environment.
set -eu

schemas=/etc/temporal/schema/postgresql/v12

for store in temporal visibility; do
  if [ "$store" = temporal ]; then database=temporal; else database=temporal_visibility; fi
  echo "schema of database $database"
  temporal-sql-tool --db "$database" setup-schema -v 0.0
  temporal-sql-tool --db "$database" update-schema -d "$schemas/$store/versioned"
done
