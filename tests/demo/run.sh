#!/usr/bin/env bash
# The demo: Watchgate in front of the test MCP server (tests/servers), driven by `watchgate call`:
# one call passes, one is blocked by the keyword filter; then the pipeline's view of sample
# messages, stage by stage. Usage: tests/demo/run.sh [build folder, default build/release]
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
echo "== watchgate call tools/call echo 'hello from the demo' (passes) =="
"$watchgate" call --config "$config" tools/call '{"name":"echo","arguments":{"text":"hello from the demo"}}'
echo "(exit status $?)"

echo
echo "== watchgate call tools/call echo 'the TOP-SECRET plan' (blocked by keyword_filter) =="
"$watchgate" call --config "$config" tools/call '{"name":"echo","arguments":{"text":"the TOP-SECRET plan"}}'
echo "(exit status $?)"

echo
echo "== the pipeline, stage by stage, for tests/demo/messages.jsonl =="
"$watchgate" simulate --config "$config" --upstream notes --input "$here/messages.jsonl" \
    --respond '{"content":[{"type":"text","text":"saved"}]}'
