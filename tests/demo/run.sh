#!/usr/bin/env bash
# The demo: loads tests/demo/gateway.yaml's plugins and runs sample client messages through the
# pipeline, printing every stage's verdict. Usage: tests/demo/run.sh [path/to/watchgate]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
watchgate=${1:-$here/../../build/release/bin/watchgate}
answer='{"content":[{"type":"text","text":"saved: TOP-SECRET note"}]}'

"$watchgate" validate --config "$here/gateway.yaml"
echo
echo "== upstream 'notes': its own keyword_filter entry redacts =="
"$watchgate" simulate --config "$here/gateway.yaml" --upstream notes --input "$here/messages.jsonl" --respond "$answer"
echo
echo "== any other upstream: the _global keyword_filter blocks =="
"$watchgate" simulate --config "$here/gateway.yaml" --input "$here/messages.jsonl" --respond "$answer"
