#!/usr/bin/env bash
# Drives the committed bash completion function the way bash does: source
# the script, set COMP_WORDS/COMP_CWORD, call it, read COMPREPLY.
source "$(dirname "$0")/lib.sh"
source "$SRC/completions/axon.bash"

# complete WORD... : candidates for the last word (the one under the cursor).
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _axon
  echo "${COMPREPLY[*]}"
}

expect_eq "axon obs<TAB>" "$(complete_words axon obs)" "observe"
expect_eq "axon observe --verd<TAB>" "$(complete_words axon observe --verd)" "--verdict"
expect_eq "axon observe --verdict <TAB>" "$(complete_words axon observe --verdict '')" \
  "FORWARDED DROPPED AUDIT REDIRECTED ERROR TRACED TRANSLATED"
expect_eq "axon observe --verdict D<TAB>" "$(complete_words axon observe --verdict D)" "DROPPED"
expect_eq "axon observe --verdict=<TAB> (bash splits at =)" \
  "$(complete_words axon observe --verdict = '')" \
  "FORWARDED DROPPED AUDIT REDIRECTED ERROR TRACED TRANSLATED"
expect_eq "axon observe -o <TAB>" "$(complete_words axon observe -o '')" "compact dict json jsonpb table"
expect_eq "axon -o <TAB> (global formats)" "$(complete_words axon -o '')" "table json yaml"
# axon <TAB>: exactly the visible commands of `axon --help`, sorted.
visible=$("$AXON" --help | awk '/^[A-Z][a-z ]+:$/ && !/options/ {g=1; next} g && /^  [a-z]/ {print $1}' | sort | tr '\n' ' ' | sed 's/ $//')
expect_eq "axon <TAB>" "$(complete_words axon '')" "$visible"
for cmd in connectivity install observe policy status; do
  expect_contains "axon <TAB> offers $cmd" " $(complete_words axon '') " " $cmd "
done
expect_eq "axon get cilium<TAB> offers the kinds" "$(complete_words axon get cilium)" \
  "ciliumclusterwidenetworkpolicies ciliumendpoints ciliumidentities ciliuml2announcementpolicies ciliumloadbalancerippools ciliumnetworkpolicies ciliumnodes"
expect_eq "axon delete -n prod po<TAB>" "$(complete_words axon delete -n prod po)" "pods"
expect_eq "a flag without a value does not swallow the next word: axon get -A po<TAB>" \
  "$(complete_words axon get -A po)" "pods"
expect_eq "... nor a command: axon --no-color ge<TAB>" "$(complete_words axon --no-color ge)" "get"
expect_eq "axon get pods -o <TAB>" "$(complete_words axon get pods -o '')" "wide yaml json name"
expect_contains "axon apply -f completes file names" \
  "$(cd "$SRC" && complete_words axon apply -f CMakeL)" "CMakeLists.txt"
expect_eq "axon connectivity <TAB>" "$(complete_words axon connectivity '')" "test"
expect_eq "axon policy <TAB>" "$(complete_words axon policy '')" "fix get trace validate"
expect_contains "policy validate -f completes file names" \
  "$(cd "$SRC" && complete_words axon policy validate -f CMakeL)" "CMakeLists.txt"
expect_eq "axon connectivity test --flow-validation <TAB>" \
  "$(complete_words axon connectivity test --flow-validation '')" "disabled warning strict"
expect_eq "axon completion <TAB>" "$(complete_words axon completion '')" "bash zsh fish"
expect_eq "values of earlier flags are skipped" \
  "$(complete_words axon -o json observe --since 5m --verdict DR)" "DROPPED"
expect_eq "a flag's value is not taken for a command" \
  "$(complete_words axon observe --pod status --verdict E)" "ERROR"
expect_eq "hidden commands are not offered" "$(complete_words axon gen)" ""
expect_contains "global flags are offered on commands" "$(complete_words axon status --)" "--state-dir"
expect_contains "install -f completes file names" \
  "$(cd "$SRC" && complete_words axon install -f CMakeL)" "CMakeLists.txt"
finish
