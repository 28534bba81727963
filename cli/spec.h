// A plain description of the command tree, read off the CLI11 app and the
// CliModel. Completion scripts and man pages are pure functions of it, so
// they cannot drift from the flags the binary really accepts.
#pragma once

#include <string>
#include <vector>

#include "cli/app.h"

namespace axon::cli {

struct FlagSpec {
  std::vector<std::string> long_names;   // without dashes: "verdict"
  std::vector<std::string> short_names;  // without dash: "o"
  bool takes_value = false;
  std::string value_name;                // "FILE", "N", "{a|b}"
  std::vector<std::string> choices;      // the only valid values
  std::vector<std::string> suggestions;  // offered on completion, not enforced
  ValueHint hint = ValueHint::none;
  bool repeatable = false;
  std::string description;
  std::string group;
  std::string default_value;
  std::string env;

  // "--verdict" if it has a long name, else "-o".
  std::string primary() const;
  // Every spelling with dashes: {"-o", "--output"}.
  std::vector<std::string> spellings() const;
};

struct PositionalSpec {
  std::string name;
  std::string description;
  bool required = false;
  bool repeatable = false;
  std::vector<std::string> choices;
  std::vector<std::string> suggestions;  // offered on completion, not enforced
  ValueHint hint = ValueHint::none;
};

struct CommandSpec {
  std::string name;               // "test"; "axon" for the root
  std::vector<std::string> path;  // {"connectivity", "test"}; empty for the root
  std::string summary;
  std::string description;
  std::vector<std::string> examples;
  std::string group;
  bool runnable = false;
  std::vector<FlagSpec> flags;            // its own, in declaration order
  std::vector<FlagSpec> inherited_flags;  // global flags it accepts, unless shadowed
  std::vector<PositionalSpec> positionals;
  std::vector<CommandSpec> children;  // visible subcommands, sorted by name

  std::string full_name() const;    // "axon connectivity test"
  std::string path_string() const;  // "connectivity test"; "" for the root
  // Own flags followed by inherited ones.
  std::vector<FlagSpec> all_flags() const;
};

// Hidden commands and options (empty group) are left out.
CommandSpec describe(const Cli& cli);

// Every command in depth-first order, the root first.
std::vector<const CommandSpec*> flatten(const CommandSpec& root);

}  // namespace axon::cli
