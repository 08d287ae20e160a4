#!/bin/sh
# Waits for the Temporal frontend at TEMPORAL_ADDRESS, then registers the
# namespace OfficeX uses (TEMPORAL_NAMESPACE) and the search attributes its
# workflows set, when missing; additive, so safe on a server in use. Shared
# by docker-compose.yml (temporal-namespace) and scripts/topology.sh.
#
#   TEMPORAL_CLI=path/to/temporal TEMPORAL_ADDRESS=host:port sh deploy/temporal/namespace.sh
set -eu

cli=${TEMPORAL_CLI:-temporal}
TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
TEMPORAL_NAMESPACE=${TEMPORAL_NAMESPACE:-default}
export TEMPORAL_ADDRESS TEMPORAL_NAMESPACE # the temporal CLI reads both

# workflows.RequiredSearchAttributes as NAME:TYPE (deploy/temporal_test.go
# compares); `officex worker` refuses to start while one is missing.
SEARCH_ATTRIBUTES="OfficexUserId:Keyword OfficexTracerId:Keyword OfficexAppId:Keyword
OfficexWalletId:Keyword OfficexAmountMicro:Int OfficexStatus:Keyword"

# retry WHAT COMMAND...: run COMMAND until it succeeds, every 2 s, at most
# TEMPORAL_WAIT_TRIES times (a new namespace reaches the other services'
# caches a few seconds after it is created).
retry() {
	what=$1 tries=0
	shift
	until "$@" >/dev/null 2>&1; do
		tries=$((tries + 1))
		if [ "$tries" -ge "${TEMPORAL_WAIT_TRIES:-60}" ]; then
			echo "temporal namespace: $what failed at $TEMPORAL_ADDRESS:" >&2
			"$@" >&2 || true
			exit 1
		fi
		sleep 2
	done
}

retry "health check" "$cli" operator cluster health

if ! "$cli" operator namespace describe -n "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
	retry "creating namespace $TEMPORAL_NAMESPACE" "$cli" operator namespace create -n "$TEMPORAL_NAMESPACE"
	echo "temporal namespace: created $TEMPORAL_NAMESPACE"
fi

retry "listing search attributes" "$cli" operator search-attribute list -n "$TEMPORAL_NAMESPACE"
existing=$("$cli" operator search-attribute list -n "$TEMPORAL_NAMESPACE")
for entry in $SEARCH_ATTRIBUTES; do
	name=${entry%%:*}
	if ! printf '%s\n' "$existing" | grep -qw "$name"; then
		retry "creating search attribute $name" \
			"$cli" operator search-attribute create -n "$TEMPORAL_NAMESPACE" --name "$name" --type "${entry#*:}"
		echo "temporal namespace: search attribute $name (${entry#*:}) created"
	fi
done
