#!/usr/bin/env bash
# Installs the Debian 12 packages Watchgate needs to build and test. Idempotent: when every package
# is already present it only checks, which takes well under a second.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config git
  dpkg-dev  # dpkg-shlibdeps: the Depends of the .deb cpack makes
  libboost1.81-dev libboost-filesystem1.81-dev
  libyaml-cpp-dev nlohmann-json3-dev catch2 libre2-dev libcli11-dev libspdlog-dev libbenchmark-dev
  libssl-dev  # SHA-256 for bearer tokens, TLS for the HTTP front
  openssl     # makes the self-signed certificates of the TLS tests
  rsyslog  # a real syslog daemon for the audit_syslog tests (started by the test, never as a service)
  prometheus  # a real Prometheus scrapes the admin endpoint in a test; its promtool checks the format
  clang libclang-rt-14-dev  # the fuzz preset: clang with libFuzzer and its sanitizers
)

# Node.js and npm run the end-to-end test peers (the official MCP SDK and servers); a machine that
# already has them (from any source) keeps its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

# cargo builds the Rust plugin of the ABI tests; a machine with its own (rustup) keeps it.
if ! command -v cargo >/dev/null 2>&1 && [[ ! -x "$HOME/.cargo/bin/cargo" ]]; then
  packages+=(cargo)
fi

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
