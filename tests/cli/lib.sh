# Helpers for tests that drive the real axon binary and real shells.
# Usage: source lib.sh; AXON and SRC are set by ctest (tests/CMakeLists.txt).
set -uo pipefail
: "${AXON:?AXON must point at the axon binary}"
: "${SRC:?SRC must point at the source tree}"
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_eq WHAT GOT WANT
expect_eq() {
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: got [$2], want [$3]"; fi
}
# expect_contains WHAT HAYSTACK NEEDLE
expect_contains() {
  if [[ "$2" == *"$3"* ]]; then pass "$1"; else fail "$1: [$2] does not contain [$3]"; fi
}

# A temporary directory removed on exit, however the test ends.
make_tmp() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/axon-test.XXXXXX")
  trap 'rm -rf "$TMP"' EXIT
}

finish() {
  if ((failures)); then
    echo "$failures check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}
