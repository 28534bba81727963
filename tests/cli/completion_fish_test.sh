#!/usr/bin/env bash
# Asks real fish for candidates (complete -C) with the committed script.
source "$(dirname "$0")/lib.sh"
command -v fish >/dev/null || { fail "fish is not installed (scripts/debian-packages.txt has it)"; finish; }

candidates() {  # COMMANDLINE -> candidate words, sorted, space-separated
  fish --no-config -c "source '$SRC/completions/axon.fish'; complete -C'$1'" | cut -f1 | sort | tr '\n' ' ' | sed 's/ $//'
}

expect_eq "axon obs<TAB>" "$(candidates 'axon obs')" "observe"
expect_eq "axon observe --verd<TAB>" "$(candidates 'axon observe --verd')" "--verdict"
expect_eq "axon observe --verdict <TAB>" "$(candidates 'axon observe --verdict ')" \
  "AUDIT DROPPED ERROR FORWARDED REDIRECTED TRACED TRANSLATED"
expect_eq "axon observe -o <TAB>" "$(candidates 'axon observe -o ')" "compact dict json jsonpb table"
expect_eq "axon connectivity <TAB>" "$(candidates 'axon connectivity ')" "test"
expect_eq "axon -o json obs<TAB>" "$(candidates 'axon -o json obs')" "observe"
expect_eq "axon completion <TAB>" "$(candidates 'axon completion ')" "bash fish zsh"
expect_eq "axon get ciliumn<TAB>" "$(candidates 'axon get ciliumn')" "ciliumnetworkpolicies ciliumnodes"
expect_eq "axon get -o <TAB>" "$(candidates 'axon get -o ')" "json name wide yaml"
finish
