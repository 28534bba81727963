#!/usr/bin/env bash
# Runs the policy fuzz target for a bounded time (AXON_FUZZ_SECONDS, default
# 60): corpus in the build tree (kept between runs), seeded with the test
# data and the seed post's manifests. A fixed random seed (AXON_FUZZ_SEED,
# default 1) keeps a fresh run (CI) reproducible. Exit status: libFuzzer's
# (0 = no crash, no hang, no leak).
#   run_fuzz.sh FUZZER CORPUS_DIR SEED_DIR...
set -euo pipefail
fuzzer=$1 corpus=$2
shift 2
mkdir -p "$corpus" "$corpus-crashes"
seeds=()
for d in "$@"; do [[ -d $d ]] && seeds+=("$d"); done
dict=$(dirname "${BASH_SOURCE[0]}")/fuzz.dict
exec "$fuzzer" -seed="${AXON_FUZZ_SEED:-1}" -max_total_time="${AXON_FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 \
  -max_len=4096 -dict="$dict" -artifact_prefix="$corpus-crashes/" -print_final_stats=1 \
  "$corpus" "${seeds[@]}"
