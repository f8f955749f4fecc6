#!/usr/bin/env bash
# Follows docs/quickstart.md literally: its ```sh blocks, in order, as one bash script in the
# repository with a fresh HOME; then checks what the page says the reader sees, and that its
# client snippets are valid JSON naming the installed binary. It installs the .deb with apt, so it
# changes the machine: it runs with CI=true or --yes only, and removes the package afterwards
# unless it was installed before.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ ${CI:-} != true && ${1:-} != --yes ]]; then
  echo "tests/quickstart/run.sh installs the watchgate package on this machine: run it with --yes (CI=true does)" >&2
  exit 2
fi
page=docs/quickstart.md
scratch=$(mktemp -d /tmp/watchgate-quickstart.XXXXXX)
fail() { echo "quickstart: FAILED: $*" >&2; exit 1; }

was_installed=$(dpkg-query -W -f='${Status}' watchgate 2>/dev/null || true)
cleanup() {
  if [[ $was_installed != "install ok installed" ]] && dpkg-query -W watchgate >/dev/null 2>&1; then
    ${sudo_cmd:-} apt-get remove -y -qq watchgate >/dev/null 2>&1 || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# The page's commands, as written.
awk '/^```sh$/ {inside = 1; next} /^```$/ {inside = 0} inside' "$page" >"$scratch/steps.sh"
[[ -s $scratch/steps.sh ]] || fail "no sh blocks in $page"
echo "quickstart: running $(grep -c '' "$scratch/steps.sh") lines of $page"

# Not the page's but the machine's: root in a container has no sudo; apt must not stop to ask.
prelude=""
sudo_cmd=sudo
if [[ $(id -u) -eq 0 ]]; then
  sudo_cmd=""
  command -v sudo >/dev/null || prelude='sudo() { "$@"; }'
fi
printf 'APT::Get::Assume-Yes "true";\n' >"$scratch/apt.conf"
mkdir -p "$scratch/home"
if ! HOME="$scratch/home" APT_CONFIG="$scratch/apt.conf" DEBIAN_FRONTEND=noninteractive \
    bash -euo pipefail -c "$prelude"$'\n'"$(cat "$scratch/steps.sh")" >"$scratch/out.log" 2>&1; then
  tail -n 60 "$scratch/out.log"
  fail "a command of $page failed (above)"
fi

out=$(cat "$scratch/out.log")
grep -q "^searched: /usr/lib/watchgate/plugins" <<<"$out" || fail "plugins list did not search the package's folder"
grep -q "^basic_pii_filter " <<<"$out" || fail "plugins list did not list the bundled plugins"
grep -q "Configuration valid: " <<<"$out" || fail "the starter did not validate"
grep -q 'Echo: mail me at \[REDACTED:EMAIL\]' <<<"$out" || { echo "$out" | tail -n 40; fail "the call was not redacted as the page says"; }
audit=$scratch/home/watchgate/logs/audit.jsonl
[[ $(grep -c '' "$audit") -ge 2 ]] || fail "the audit trail does not have the call's request and response"

# The client snippets: valid JSON, starting the binary the package installed.
awk '/^```json$/ {inside = 1; block++; next} /^```$/ {inside = 0} inside {print > (dir "/snippet" block ".json")}' \
  dir="$scratch" "$page"
for snippet in "$scratch"/snippet*.json; do
  command=$(node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
                     const s = c.mcpServers || c.servers; process.stdout.write(s.watchgate.command)' "$snippet") ||
    fail "$(basename "$snippet") of $page is not valid JSON"
  [[ -x $command ]] || fail "$(basename "$snippet") starts $command, which the package did not install"
done
echo "quickstart: every step of $page works as written"
