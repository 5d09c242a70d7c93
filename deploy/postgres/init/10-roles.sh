#!/bin/bash
# The database roles of a realname deployment (README, "Going live": roles). The postgres image
# runs this once, when its volume is first initialised (/docker-entrypoint-initdb.d), as the
# superuser POSTGRES_USER. It can be run again on a running server (it only adds what is missing
# and sets the passwords), e.g. to move an older deployment whose app connected as the owner:
#   docker compose exec -e POSTGRES_USER=realname postgres bash /docker-entrypoint-initdb.d/10-roles.sh
#
#   realname      owns the database and its tables; the `migrate` service connects as it, runs the
#                 migrations, then `manage.py grant_app_role realname_app` (kernel/dbroles.py).
#   realname_app  web, worker and beat: rows only, no ownership, no TRUNCATE, no triggers, and
#                 only SELECT and INSERT on the append-only audit, staff notes and consent records.
set -euo pipefail
: "${POSTGRES_OWNER_PASSWORD:?set POSTGRES_OWNER_PASSWORD}"
: "${POSTGRES_APP_PASSWORD:?set POSTGRES_APP_PASSWORD}"
owner="${REALNAME_DB_OWNER:-realname}"
app="${REALNAME_DB_APP_ROLE:-realname_app}"
database="${REALNAME_DB_NAME:-realname}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v owner="$owner" -v app="$app" -v database="$database" \
    -v owner_password="$POSTGRES_OWNER_PASSWORD" -v app_password="$POSTGRES_APP_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT', :'app')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
ALTER ROLE :"owner" PASSWORD :'owner_password';
ALTER ROLE :"app" PASSWORD :'app_password';
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"app";
\connect :"database"
ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
echo "realname: roles $owner (owner, migrations) and $app (web, worker, beat) are ready"
