#!/usr/bin/env bash
# The demo: Watchgate in front of two test MCP servers (tests/servers) shown as one, driven by
# `watchgate call`: a call passes, personal data is redacted, a credential and a keyword are
# blocked, a tool outside the allow-list is refused, a list is merged from both upstreams and a
# read routed by its prefix; then the audit trail of all that, and the pipeline's view of sample
# messages stage by stage. The gateway's log and the audit trail go to a scratch folder.
# Usage: tests/demo/run.sh [build folder, default build/release]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build/release}" && pwd)
export WATCHGATE_DEMO_BIN=$build/bin
watchgate=$WATCHGATE_DEMO_BIN/watchgate
out=$(mktemp -d "${TMPDIR:-/tmp}/watchgate-demo.XXXXXX")
cp "$here/gateway.yaml" "$out/gateway.yaml"
config=$out/gateway.yaml

set -e
"$watchgate" validate --config "$config"
set +e

step() {
    echo
    echo "== $1 =="
    shift
    "$watchgate" call --config "$config" "$@"
    echo "(exit status $?)"
}

step "notes__echo 'hello from the demo' (passes)" \
    tools/call '{"name":"notes__echo","arguments":{"text":"hello from the demo"}}'
step "notes__echo with an e-mail address (basic_pii_filter redacts it before the server sees it)" \
    tools/call '{"name":"notes__echo","arguments":{"text":"write to alice@example.com"}}'
step "notes__echo with an AWS access key (blocked by basic_secrets_filter)" \
    tools/call '{"name":"notes__echo","arguments":{"text":"key AKIAIOSFODNN7EXAMPLE"}}'
step "notes__echo 'the TOP-SECRET plan' (blocked by keyword_filter)" \
    tools/call '{"name":"notes__echo","arguments":{"text":"the TOP-SECRET plan"}}'
step "notes__sleep (not in the tool_manager allow-list of 'notes')" \
    tools/call '{"name":"notes__sleep","arguments":{"ms":10}}'
step "resources/list (from upstream 'files', URIs prefixed files__)" resources/list
step "resources/read files__test://files/r001 (routed to 'files' by its prefix)" \
    resources/read '{"uri":"files__test://files/r001"}'

echo
echo "== the audit trail ($out/logs/audit.jsonl), one record per request and response =="
cat "$out/logs/audit.jsonl"

echo
echo "== the pipeline, stage by stage, for tests/demo/messages.jsonl =="
"$watchgate" simulate --config "$config" --upstream notes --input "$here/messages.jsonl" \
    --respond '{"content":[{"type":"text","text":"saved"}]}'

echo
echo "(the gateway's log: $out/logs/gateway.log)"
