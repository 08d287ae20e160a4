#!/usr/bin/env bash
# The SDK's generated client, sdk/openapi/openapi.gen.go, from api/openapi.yaml.
#
#   scripts/sdkgen.sh         regenerate it (make generate)
#   scripts/sdkgen.sh check   fail when the committed file is not what the spec gives (make test)
#
# oapi-codegen (pinned in scripts/tools.sh) reads OpenAPI 3.0 only, so it is
# fed a 3.0 view of the 3.1 spec written by sdk/internal/spec30 into a
# temporary directory; the served and checked contract stays api/openapi.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
tool_install oapi-codegen

out=sdk/openapi/openapi.gen.go
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./sdk/internal/spec30 api/openapi.yaml >"$tmp/openapi30.json"
"$(tool_path oapi-codegen)" -config sdk/openapi/oapi-codegen.yaml -o "$tmp/openapi.gen.go" "$tmp/openapi30.json"

case ${1:-generate} in
generate) mv "$tmp/openapi.gen.go" "$out" ;;
check)
	if ! diff -u "$out" "$tmp/openapi.gen.go" >"$tmp/diff"; then
		head -50 "$tmp/diff" >&2
		echo "sdkgen: $out is not what api/openapi.yaml generates: run make generate" >&2
		exit 1
	fi
	;;
*)
	echo "usage: sdkgen.sh [generate | check]" >&2
	exit 2
	;;
esac
