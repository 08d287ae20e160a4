#!/usr/bin/env bash
# The local services OfficeX needs: PostgreSQL, the Temporal dev server and
# stripe-mock (DESIGN.md section 9). Each is started only when nothing answers
# on its port yet, and only what this script started is stopped again, on exit,
# Ctrl-C or TERM; a server that was already running is left alone.
#
#   scripts/stack.sh MODE [COMMAND...]
#       MODE test: Temporal in memory, headless (no UI), for `make test`
#       MODE dev:  Temporal on .data/temporal.db with the UI on :8233, for `make dev`
#       Starts the stack, runs COMMAND, stops what it started and exits with
#       COMMAND's status. Without COMMAND it holds the stack until Ctrl-C.
#
#   . scripts/stack.sh    defines stack_up MODE, stack_down, stack_traps and
#                         stack_ensure_postgres, for other bash scripts.
#
# Addresses are fixed on purpose; tests and `officex dev` are told them:
#   Temporal 127.0.0.1:7233 (UI 127.0.0.1:8233 in dev), stripe-mock
#   http://127.0.0.1:12111 and https://127.0.0.1:12112, PostgreSQL 127.0.0.1:5432.
# Logs of what it starts go to .data/logs/. STACK_WAIT_SECONDS (default 60)
# bounds each wait.

STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$STACK_DIR/scripts/tools.sh"

STACK_HOST=127.0.0.1
STACK_TEMPORAL_PORT=7233
STACK_TEMPORAL_UI_PORT=8233
STACK_STRIPE_HTTP_PORT=12111
STACK_STRIPE_HTTPS_PORT=12112
STACK_POSTGRES_PORT=5432
STACK_WAIT_SECONDS=${STACK_WAIT_SECONDS:-60}
STACK_LOGS="$STACK_DIR/.data/logs"

STACK_PIDS=() # what this shell started, stopped by stack_down

stack_log() { echo "stack: $*" >&2; }

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/$STACK_HOST/$1") 2>/dev/null
}

temporal_answers() {
	"$(tool_path temporal)" operator cluster health --address "$STACK_HOST:$STACK_TEMPORAL_PORT" >/dev/null 2>&1
}

stripe_mock_answers() { port_open "$STACK_STRIPE_HTTP_PORT"; }

postgres_answers() { port_open "$STACK_POSTGRES_PORT"; }

# wait_until NAME PID CHECK: poll CHECK until it succeeds, for at most
# STACK_WAIT_SECONDS; fail early when PID (what we started, or "" for
# something we did not start) has died. Prints the log tail on failure.
wait_until() {
	local name=$1 pid=$2 check=$3 deadline=$((SECONDS + STACK_WAIT_SECONDS))
	until $check; do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			stack_log "$name exited before it answered; last lines of $STACK_LOGS/$name.log:"
			tail -n 20 "$STACK_LOGS/$name.log" >&2 2>/dev/null
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			if [ -n "$pid" ]; then
				stack_log "$name did not answer within ${STACK_WAIT_SECONDS}s; last lines of $STACK_LOGS/$name.log:"
				tail -n 20 "$STACK_LOGS/$name.log" >&2 2>/dev/null
			else
				stack_log "$name (already running, not started here) did not answer within ${STACK_WAIT_SECONDS}s"
			fi
			return 1
		fi
		sleep 0.2
	done
}

# start_background NAME COMMAND...: start COMMAND in its own session (so a
# Ctrl-C in the terminal reaches the application first and stack_down stops
# the servers afterwards, in order), log to .data/logs/NAME.log, remember its PID.
STACK_LAST_PID=
start_background() {
	local name=$1 job_control=
	shift
	mkdir -p "$STACK_LOGS"
	# With job control on (an interactive shell that sourced this file), `&`
	# would make the child a process-group leader and setsid would fork, so $!
	# would not be the server's PID.
	case $- in *m*) job_control=1 && set +m ;; esac
	# Descriptors 3-9 are closed: a server must not keep what the caller holds
	# open, e.g. `flock measure.lock make topology`'s lock, held by every
	# process it started for as long as they ran.
	if command -v setsid >/dev/null 2>&1; then
		setsid "$@" >"$STACK_LOGS/$name.log" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	else
		"$@" >"$STACK_LOGS/$name.log" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	fi
	STACK_LAST_PID=$!
	[ -n "$job_control" ] && set -m
	STACK_PIDS+=("$STACK_LAST_PID")
}

# stack_temporal MODE: the pinned Temporal CLI dev server, unless one answers.
stack_temporal() {
	local mode=$1 bin
	bin=$(tool_path temporal)
	[ -x "$bin" ] || { stack_log "missing $bin: run scripts/tools.sh (make tools)"; return 1; }
	if port_open "$STACK_TEMPORAL_PORT"; then
		stack_log "Temporal: something already listens on $STACK_HOST:$STACK_TEMPORAL_PORT, using it"
		wait_until temporal "" temporal_answers
		return
	fi
	local args=(server start-dev --ip "$STACK_HOST" --port "$STACK_TEMPORAL_PORT"
		--ui-port "$STACK_TEMPORAL_UI_PORT" --log-level warn)
	case $mode in
	test) args+=(--headless) ;; # in memory: every run starts empty
	dev)
		mkdir -p "$STACK_DIR/.data"
		args+=(--db-filename "$STACK_DIR/.data/temporal.db")
		;;
	esac
	start_background temporal "$bin" "${args[@]}"
	wait_until temporal "$STACK_LAST_PID" temporal_answers || return 1
	if [ "$mode" = dev ]; then
		stack_log "Temporal dev server on $STACK_HOST:$STACK_TEMPORAL_PORT, UI http://$STACK_HOST:$STACK_TEMPORAL_UI_PORT"
	else
		stack_log "Temporal dev server on $STACK_HOST:$STACK_TEMPORAL_PORT (in memory, headless)"
	fi
}

# Search attributes of the workflows (workflows.RequiredSearchAttributes), as
# NAME:TYPE: the money workflows carry user, app, wallet, amount and status,
# ChatRunWorkflow its user and tracer, so the Temporal UI finds them by
# business key. `officex worker` refuses to start when one is missing.
STACK_SEARCH_ATTRIBUTES=(OfficexUserId:Keyword OfficexTracerId:Keyword OfficexAppId:Keyword
	OfficexWalletId:Keyword OfficexAmountMicro:Int OfficexStatus:Keyword)

# stack_search_attributes: register the search attributes on the Temporal
# server when missing (whether this script started it or not); creating is
# additive, so a server already in use is safe.
stack_search_attributes() {
	local bin entry name type existing
	bin=$(tool_path temporal)
	existing=$("$bin" operator search-attribute list --address "$STACK_HOST:$STACK_TEMPORAL_PORT" 2>/dev/null) || {
		stack_log "could not list Temporal search attributes"
		return 1
	}
	for entry in "${STACK_SEARCH_ATTRIBUTES[@]}"; do
		name=${entry%%:*} type=${entry#*:}
		if ! grep -qw "$name" <<<"$existing"; then
			"$bin" operator search-attribute create --name "$name" --type "$type" \
				--address "$STACK_HOST:$STACK_TEMPORAL_PORT" >/dev/null || {
				stack_log "could not create the Temporal search attribute $name"
				return 1
			}
			stack_log "Temporal search attribute $name ($type) created"
		fi
	done
}

# stack_stripe_mock: Stripe's own API mock, unless one answers.
stack_stripe_mock() {
	local bin
	bin=$(tool_path stripe-mock)
	[ -x "$bin" ] || { stack_log "missing $bin: run scripts/tools.sh (make tools)"; return 1; }
	if port_open "$STACK_STRIPE_HTTP_PORT"; then
		stack_log "stripe-mock: something already listens on $STACK_HOST:$STACK_STRIPE_HTTP_PORT, using it"
		return
	fi
	start_background stripe-mock "$bin" \
		-http-addr "$STACK_HOST:$STACK_STRIPE_HTTP_PORT" \
		-https-addr "$STACK_HOST:$STACK_STRIPE_HTTPS_PORT"
	wait_until stripe-mock "$STACK_LAST_PID" stripe_mock_answers || return 1
	stack_log "stripe-mock on http://$STACK_HOST:$STACK_STRIPE_HTTP_PORT"
}

# stack_ensure_postgres: start the machine's own PostgreSQL cluster when it is
# installed (Debian's pg_ctlcluster) but not answering. It is a system service,
# so it is left running afterwards.
stack_ensure_postgres() {
	postgres_answers && return 0
	if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
		local version
		version=$(ls /etc/postgresql | sort -V | tail -n 1)
		stack_log "PostgreSQL is not answering on $STACK_HOST:$STACK_POSTGRES_PORT; starting cluster $version/main"
		pg_ctlcluster --skip-systemctl-redirect "$version" main start || return 1
		wait_until postgres "" postgres_answers
	else
		stack_log "PostgreSQL is not answering on $STACK_HOST:$STACK_POSTGRES_PORT and pg_ctlcluster is not installed; start it yourself or set DATABASE_URL"
		return 0 # DATABASE_URL may point elsewhere; the application reports it
	fi
}

# stack_up MODE: everything for MODE (test or dev).
stack_up() {
	case ${1:-} in
	test | dev) ;;
	*)
		stack_log "usage: stack_up test|dev"
		return 2
		;;
	esac
	stack_ensure_postgres &&
		stack_temporal "$1" &&
		stack_search_attributes &&
		stack_stripe_mock
}

# stack_down: stop exactly what this shell started (TERM, then KILL after 10 s).
stack_down() {
	local pid deadline
	for pid in "${STACK_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	deadline=$((SECONDS + 10))
	for pid in "${STACK_PIDS[@]}"; do
		while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ ${#STACK_PIDS[@]} -gt 0 ] && stack_log "stopped what it started (pids ${STACK_PIDS[*]})"
	STACK_PIDS=()
}

# stack_traps: stop what was started however the shell ends.
stack_traps() {
	trap stack_down EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Run as a script (not sourced).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	mode=${1:-}
	case $mode in
	test | dev) shift ;;
	*)
		echo "usage: scripts/stack.sh test|dev [COMMAND...]" >&2
		exit 2
		;;
	esac
	stack_traps
	stack_up "$mode" || exit 1
	if [ $# -eq 0 ]; then
		stack_log "stack is up; Ctrl-C stops what was started"
		while :; do
			sleep 3600 &
			wait $! # unlike a foreground sleep, wait lets the traps run at once
		done
	fi
	"$@"
	exit $?
fi
