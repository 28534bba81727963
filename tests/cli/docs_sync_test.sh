#!/usr/bin/env bash
# The committed completions/ and man/ must be exactly what this binary
# generates. On failure: run scripts/gen-docs and commit the result.
source "$(dirname "$0")/lib.sh"
make_tmp
"$AXON" gen-docs --man "$TMP/man" --completions "$TMP/completions" || fail "axon gen-docs failed"
if diff -ru "$SRC/completions" "$TMP/completions"; then pass "completions/ in sync"; else
  fail "completions/ drifted from the CLI definition: run scripts/gen-docs"; fi
if diff -ru "$SRC/man" "$TMP/man"; then pass "man/ in sync"; else
  fail "man/ drifted from the CLI definition: run scripts/gen-docs"; fi
for shell in bash zsh fish; do
  case $shell in bash) f=axon.bash ;; zsh) f=_axon ;; fish) f=axon.fish ;; esac
  if "$AXON" completion "$shell" | cmp -s - "$SRC/completions/$f"; then
    pass "axon completion $shell == completions/$f"
  else
    fail "axon completion $shell differs from completions/$f"
  fi
done
finish
