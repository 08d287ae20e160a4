#!/bin/sh
# Creates Temporal's two PostgreSQL databases when missing and brings their
# schemas to the version the SQL tool embeds (its --schema-name); safe to run
# again. Shared by docker-compose.yml (temporal-schema, in temporalio/admin-tools)
# and scripts/topology.sh; it reads the TEMPORAL_DB* variables officex.yaml
# reads, so it migrates the databases the server opens.
#
#   TEMPORAL_SQL_TOOL=path/to/temporal-sql-tool sh deploy/temporal/setup.sh
set -eu

tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
SQL_PASSWORD=${TEMPORAL_DB_PASSWORD:-} # the tool's own variable: keeps it off the command line
export SQL_PASSWORD

sql() {
	"$tool" --plugin postgres12 --ep "${TEMPORAL_DB_HOST:-127.0.0.1}" -p "${TEMPORAL_DB_PORT:-5432}" \
		-u "${TEMPORAL_DB_USER:-postgres}" "$@"
}

# quiet COMMAND...: run it, showing its output only when it fails.
quiet() {
	out=$("$@" 2>&1) || {
		echo "$out" >&2
		return 1
	}
}

# migrate DB SCHEMA: create DB unless it exists, then set up versioning (a
# no-op once a version is recorded) and apply every newer schema version.
migrate() {
	if ! out=$(sql --db "$1" create 2>&1); then
		case $out in
		*"already exists"*) ;;
		*)
			echo "$out" >&2
			return 1
			;;
		esac
	fi
	quiet sql --db "$1" setup-schema -v 0.0
	quiet sql --db "$1" update-schema --schema-name "$2"
	echo "temporal setup: database $1 at schema $2 (latest)"
}

migrate "${TEMPORAL_DB:-temporal}" postgresql/v12/temporal
migrate "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}" postgresql/v12/visibility
