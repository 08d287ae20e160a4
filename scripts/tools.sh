#!/usr/bin/env bash
# Pinned developer tools, built from source with `go install` into a cache
# directory so every machine (developer or CI) runs the same versions and a
# second run costs nothing.
#
#   scripts/tools.sh              install every tool that is missing (quiet when cached)
#   scripts/tools.sh install NAME...   install only those tools
#   scripts/tools.sh path NAME    print the path of tool NAME (temporal, sqlc, stripe-mock,
#                                 oapi-codegen, temporal-server, temporal-sql-tool)
#   . scripts/tools.sh            define the versions and tool_path / tool_install
#
# Cache: ${OFFICEX_TOOLS:-$HOME/.cache/officex-tools}/<name>-<version>/<name>.
# Only the Go module proxy is used. A cold build of temporal takes several
# minutes on a 2-core machine; sqlc needs cgo (gcc).

TEMPORAL_VERSION=v1.5.1
SQLC_VERSION=v1.31.1
STRIPE_MOCK_VERSION=v0.203.0 # newest tag offered by `go list -m -versions github.com/stripe/stripe-mock`
OAPI_CODEGEN_VERSION=v2.8.2  # the SDK's generated client (scripts/sdkgen.sh)
# The Temporal server the CLI above embeds in its dev server (its go.mod), for
# scripts/topology.sh: the same server, as separate services on PostgreSQL.
TEMPORAL_SERVER_VERSION=v1.29.1

OFFICEX_TOOLS=${OFFICEX_TOOLS:-$HOME/.cache/officex-tools}

# tool_package NAME: the Go package and version that builds tool NAME.
tool_package() {
	case $1 in
	temporal) echo "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION" ;;
	sqlc) echo "github.com/sqlc-dev/sqlc/cmd/sqlc@$SQLC_VERSION" ;;
	stripe-mock) echo "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" ;;
	oapi-codegen) echo "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@$OAPI_CODEGEN_VERSION" ;;
	temporal-server) echo "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" ;;
	temporal-sql-tool) echo "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" ;;
	*)
		echo "tools.sh: unknown tool '$1' (want temporal, sqlc, stripe-mock, oapi-codegen, temporal-server or temporal-sql-tool)" >&2
		return 1
		;;
	esac
}

# tool_path NAME: where the pinned build of NAME lives (it may not exist yet).
tool_path() {
	local pkg
	pkg=$(tool_package "$1") || return 1
	echo "$OFFICEX_TOOLS/$1-${pkg##*@}/$1"
}

# tool_install NAME: build NAME unless the pinned binary is already there.
# The build goes into a temporary directory that is renamed into place, so an
# interrupted build never leaves a half-written binary at the final path, and
# an flock (where available) keeps two concurrent runs from building twice.
tool_install() {
	local name=$1 pkg bin dir tmp
	pkg=$(tool_package "$name") || return 1
	bin=$(tool_path "$name")
	[ -x "$bin" ] && return 0
	dir=$(dirname "$bin")
	mkdir -p "$OFFICEX_TOOLS"
	(
		if command -v flock >/dev/null 2>&1; then
			exec 9>"$OFFICEX_TOOLS/.$name.lock"
			flock 9
		fi
		[ -x "$bin" ] && exit 0 # built by another run while we waited
		echo "tools.sh: building $pkg (once; cached in $dir)" >&2
		tmp=$(mktemp -d "$OFFICEX_TOOLS/.$name.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		GOBIN="$tmp" go install "$pkg" || exit 1
		mkdir -p "$dir"
		# go install names the binary after the package's last element
		# (cmd/server -> server), not after the tool.
		local built=${pkg%@*}
		mv -f "$tmp/${built##*/}" "$bin"
	)
}

# Run as a script (not sourced): install all, or print one path.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -eu
	command=${1:-install}
	[ $# -gt 0 ] && shift
	case $command in
	install)
		[ $# -gt 0 ] || set -- temporal sqlc stripe-mock oapi-codegen
		for name in "$@"; do
			tool_install "$name"
		done
		;;
	path)
		tool_path "${1:?usage: tools.sh path NAME}"
		;;
	*)
		echo "usage: tools.sh [install [NAME...] | path NAME]" >&2
		exit 2
		;;
	esac
fi
