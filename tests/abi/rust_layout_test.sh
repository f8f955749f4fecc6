#!/usr/bin/env bash
# The Rust crate's #[repr(C)] declarations against plugin.h: every offset and size printed from C
# (layout_dump, compiled from the header) must equal what the crate computes from its own.
# Usage: rust_layout_test.sh CARGO LAYOUT_DUMP CRATE_DIR TARGET_DIR
set -euo pipefail
cargo=$1 layout_dump=$2 crate=$3 target=$4
from_c=$("$layout_dump")
from_rust=$("$cargo" run --offline --quiet --manifest-path "$crate/Cargo.toml" --target-dir "$target" --example layout)
if [[ "$from_c" != "$from_rust" ]]; then
  echo "the Rust declarations differ from plugin.h:"
  diff <(echo "$from_c") <(echo "$from_rust") || true
  exit 1
fi
echo "$(wc -l <<<"$from_c") offsets and sizes agree"
