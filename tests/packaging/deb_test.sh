#!/usr/bin/env bash
# The Debian packages as a user gets them: cpack makes watchgate and watchgate-dev from the build
# folder, both are unpacked into a temporary root, and what they hold is run from there: the
# binary finds its plugins, the example HTTP configuration validates, a plugin builds against the
# SDK of watchgate-dev and runs in the unpacked gateway, and apt accepts the Depends.
#
#   tests/packaging/deb_test.sh <build folder> <source folder> <cmake generator>
set -euo pipefail
build=$1 source=$2 generator=$3
scratch=$(mktemp -d /tmp/watchgate-deb.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$scratch/out" >"$scratch/cpack.log" 2>&1) || { cat "$scratch/cpack.log"; fail "cpack"; }
runtime=$(ls "$scratch"/out/watchgate_*.deb)
dev=$(ls "$scratch"/out/watchgate-dev_*_all.deb)
echo "made $(basename "$runtime") and $(basename "$dev")"

depends=$(dpkg-deb -f "$runtime" Depends)
echo "Depends: $depends"
for library in libyaml-cpp libspdlog libssl3 libre2 libc6; do
  [[ $depends == *"$library"* ]] || fail "Depends lacks $library"
done
# What apt would do with it here (every dependency is installed on a machine that built it).
if command -v apt-get >/dev/null; then
  apt-get install -s "$runtime" >"$scratch/apt.log" 2>&1 || { cat "$scratch/apt.log"; fail "apt-get install -s"; }
fi

root=$scratch/root
dpkg-deb -x "$runtime" "$root"
dpkg-deb -x "$dev" "$root"
watchgate=$root/usr/bin/watchgate
version=$(sed -n 's/^project(watchgate VERSION \([0-9.]*\).*/\1/p' "$source/CMakeLists.txt")
[[ $("$watchgate" --version) == "watchgate $version"* ]] || fail "--version: $("$watchgate" --version)"

list=$("$watchgate" plugins list)
echo "$list"
grep -q "^searched: $root/usr/lib/watchgate/plugins" <<<"$list" || fail "plugins list searched elsewhere"
for plugin in basic_pii_filter basic_secrets_filter basic_prompt_injection_defense keyword_filter tool_manager \
              tool_pinning call_trace rate_limit audit_jsonl audit_csv audit_human_readable audit_syslog; do
  grep -q "^$plugin " <<<"$list" || fail "plugin $plugin not found in the package"
done
! grep -q "^test_\|conformance" <<<"$list" || fail "test plugins in the package"
for file in usr/lib/systemd/system/watchgate.service usr/share/doc/watchgate/quickstart.md \
            usr/share/doc/watchgate/README.md usr/include/watchgate/plugin.h usr/include/watchgate/plugin.hpp; do
  [[ -f $root/$file ]] || fail "$file missing"
done
readelf -S "$watchgate" >"$scratch/sections.txt"
! grep -q '\.symtab' "$scratch/sections.txt" || fail "the binary is not stripped"

WATCHGATE_TOKEN=$(printf "%032d" 7) "$watchgate" validate --config "$root/usr/share/doc/watchgate/examples/gateway-http.yaml" ||
  fail "the example HTTP configuration does not validate"
grep -q "^ExecStart=/usr/bin/watchgate --config /etc/watchgate/gateway.yaml$" "$root/usr/lib/systemd/system/watchgate.service" ||
  fail "the unit does not start /usr/bin/watchgate"

# The C++ example shipped in watchgate-dev, built out of tree against it and tested by its own
# tests through the unpacked gateway.
example="$root/usr/share/watchgate/sdk/examples/cpp"
[[ -f $example/CMakeLists.txt ]] || fail "watchgate-dev has no C++ example"
cmake -S "$example" -B "$scratch/plugin" -G "$generator" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$root/usr" \
      -DWATCHGATE="$watchgate" >"$scratch/plugin.log" 2>&1 || { cat "$scratch/plugin.log"; fail "configure the plugin"; }
cmake --build "$scratch/plugin" >>"$scratch/plugin.log" 2>&1 || { cat "$scratch/plugin.log"; fail "build the plugin"; }
ctest --test-dir "$scratch/plugin" --output-on-failure --no-tests=error >>"$scratch/plugin.log" 2>&1 ||
  { cat "$scratch/plugin.log"; fail "the example's tests"; }
echo "packages OK"
