#!/usr/bin/env bash
# The policy parser's fuzz target.
#
# By default (and in CI) it replays, once each, the seed inputs (test data,
# the seed post's manifests) and every input that once crashed or hung the
# parser (fuzz-regressions/): deterministic, and it fails if any of those
# bugs comes back.
#
# AXON_FUZZ_SECONDS=N also explores for N seconds from a corpus kept in the
# build tree (random seed AXON_FUZZ_SEED, default 1): a tool to run by hand,
# not a CI gate (bench/RESULTS.md has the last 10-minute run). What it finds
# goes to fuzz-regressions/ with its fix. (The timeouts there hung yaml-cpp
# 0.7's own parser, which libyaml replaced: libpolicy/src/yaml_load.cpp.)
#   run_fuzz.sh FUZZER CORPUS_DIR SEED_DIR...
set -euo pipefail
fuzzer=$1 corpus=$2
shift 2
here=$(dirname "${BASH_SOURCE[0]}")
mkdir -p "$corpus" "$corpus-crashes"
seeds=()
for d in "$@"; do [[ -d $d ]] && seeds+=("$d"); done
common=(-timeout=10 -rss_limit_mb=2048 -max_len=4096 -artifact_prefix="$corpus-crashes/")
if [[ ${AXON_FUZZ_SECONDS:-0} == 0 ]]; then
  exec "$fuzzer" -runs=0 "${common[@]}" "$here/fuzz-regressions" "${seeds[@]}"
fi
exec "$fuzzer" -seed="${AXON_FUZZ_SEED:-1}" -max_total_time="$AXON_FUZZ_SECONDS" "${common[@]}" \
  -dict="$here/fuzz.dict" -print_final_stats=1 "$corpus" "$here/fuzz-regressions" "${seeds[@]}"
