#!/usr/bin/env bash
# Every committed man page renders without troff warnings, and
# `man -l man/axon-status.1` shows the sections a reader expects.
source "$(dirname "$0")/lib.sh"
for page in "$SRC"/man/*.1; do
  warnings=$(groff -man -ww -z "$page" 2>&1)
  if [[ -z $warnings ]]; then pass "$(basename "$page") renders cleanly"; else
    fail "$(basename "$page"): $warnings"; fi
done
out=$(MANWIDTH=100 man -l "$SRC/man/axon-status.1" 2>&1)
for section in NAME SYNOPSIS DESCRIPTION OPTIONS "GLOBAL OPTIONS" EXAMPLES "EXIT STATUS"; do
  expect_contains "axon-status(1) has $section" "$out" "$section"
done
expect_contains "axon-status(1) documents --wait-duration and its default" "$out" "--wait-duration DURATION"
expect_contains "axon-status(1) shows the default" "$out" "Default: 5m"
root=$(MANWIDTH=100 man -l "$SRC/man/axon.1" 2>&1)
for cmd in install status connectivity observe; do
  expect_contains "axon(1) lists $cmd" "$root" "axon-$cmd(1)"
done
finish
