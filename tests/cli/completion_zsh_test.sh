#!/usr/bin/env bash
# zsh: the committed script must parse, and its _axon function must offer
# the right candidates. compsys builtins are replaced by functions that
# print what they were given (compadd/_describe/_files), since driving
# zsh's completion widget needs a terminal.
source "$(dirname "$0")/lib.sh"
command -v zsh >/dev/null || { fail "zsh is not installed (scripts/debian-packages.txt has it)"; finish; }

if zsh -n "$SRC/completions/_axon"; then pass "zsh parses _axon"; else fail "zsh -n _axon"; fi

candidates() {
  zsh -f -c '
    compdef() { : }
    source "$1"; shift
    _describe() { local -a arr; arr=("${(@P)${@[-1]}}"); print -r -- "${(j: :)${(@)arr%%:*}}" }
    compadd() { [[ $1 == -a ]] && print -r -- "${(@P)2}" }
    _files() { print -r -- "<files>" }
    compset() { : }
    words=("$@"); CURRENT=$#words
    _axon' zsh "$SRC/completions/_axon" "$@"
}

expect_contains "axon <TAB> offers observe" "$(candidates axon obs)" "observe"
expect_contains "axon observe --<TAB> offers --verdict" "$(candidates axon observe --verd)" "--verdict"
expect_eq "axon observe --verdict <TAB>" "$(candidates axon observe --verdict '')" \
  "FORWARDED DROPPED AUDIT REDIRECTED ERROR TRACED TRANSLATED"
expect_eq "axon observe --verdict=<TAB>" "$(candidates axon observe --verdict=)" \
  "FORWARDED DROPPED AUDIT REDIRECTED ERROR TRACED TRANSLATED"
expect_eq "axon connectivity <TAB>" "$(candidates axon connectivity '')" "test"
expect_eq "axon install -f <TAB>" "$(candidates axon install -f '')" "<files>"
expect_eq "axon completion <TAB>" "$(candidates axon completion '')" "bash zsh fish"
expect_contains "axon get <TAB> offers the kinds" "$(candidates axon get '')" "pods"
expect_contains "axon get <TAB> offers Cilium's kinds" "$(candidates axon get '')" "ciliumnetworkpolicies"
finish
