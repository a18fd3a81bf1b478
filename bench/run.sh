#!/usr/bin/env bash
# The benchmark: builds the release function for this machine and for arm64 (with cargo-lambda) and
# the emulator, then runs bench/run.py, which prints one JSON object per scenario and a table.
# Options after the command go to bench/run.py (e.g. --runs 3 --sizes 10000).
set -euo pipefail
cd "$(dirname "$0")/.."
export CVPN_CACHE=${CVPN_CACHE:-$HOME/.cache/cvpn-terminator}
source scripts/venvs.sh
# GNU time measures peak memory of the processes that exit by themselves.
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
# A target directory of its own: release builds must not invalidate the test build's cache.
release=$CVPN_CACHE/target-release
arch=$(uname -m)
(
  export PATH="$CVPN_CACHE/venv-deploy/bin:$PATH" CARGO_TARGET_DIR=$release
  # Each architecture's bootstrap in its own directory: cargo-lambda moves the binary there.
  cargo lambda build --release --arm64 --bin cvpn-terminator --lambda-dir "$release/lambda-arm64"
  [ "$arch" = aarch64 ] || cargo lambda build --release --x86-64 --bin cvpn-terminator --lambda-dir "$release/lambda-$arch"
  cargo build --release --locked -p cvpn-emulator
  # The connect handler's floor: std alone, no crate to fetch.
  rustc --edition 2021 -O bench/floor.rs -o "$release/bench-floor"
)
python3 bench/run.py \
  --function "$release/lambda-${arch/aarch64/arm64}/cvpn-terminator/bootstrap" \
  --arm64 "$release/lambda-arm64/cvpn-terminator/bootstrap" \
  --emulator "$release/release/cvpn-emulator" --floor "$release/bench-floor" "$@"
