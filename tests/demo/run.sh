#!/usr/bin/env bash
# The demo: Watchgate in front of two test MCP servers (tests/servers) shown as one, driven by
# `watchgate call`: one call passes, one is blocked by the keyword filter, a list merged from both
# upstreams, a read routed by its prefix; then the pipeline's view of sample messages, stage by
# stage. Usage: tests/demo/run.sh [build folder, default build/release]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build/release}" && pwd)
export WATCHGATE_DEMO_BIN=$build/bin
watchgate=$WATCHGATE_DEMO_BIN/watchgate
config=$here/gateway.yaml

set -e
"$watchgate" validate --config "$config"
set +e

echo
echo "== watchgate call tools/call notes__echo 'hello from the demo' (passes) =="
"$watchgate" call --config "$config" tools/call '{"name":"notes__echo","arguments":{"text":"hello from the demo"}}'
echo "(exit status $?)"

echo
echo "== watchgate call tools/call notes__echo 'the TOP-SECRET plan' (blocked by keyword_filter) =="
"$watchgate" call --config "$config" tools/call '{"name":"notes__echo","arguments":{"text":"the TOP-SECRET plan"}}'
echo "(exit status $?)"

echo
echo "== watchgate call resources/list (from upstream 'files', URIs prefixed files__) =="
"$watchgate" call --config "$config" resources/list
echo "(exit status $?)"

echo
echo "== watchgate call resources/read files__test://files/r001 (routed to 'files' by its prefix) =="
"$watchgate" call --config "$config" resources/read '{"uri":"files__test://files/r001"}'
echo "(exit status $?)"

echo
echo "== the pipeline, stage by stage, for tests/demo/messages.jsonl =="
"$watchgate" simulate --config "$config" --upstream notes --input "$here/messages.jsonl" \
    --respond '{"content":[{"type":"text","text":"saved"}]}'
