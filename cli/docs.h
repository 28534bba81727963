// Generated artefacts: shell completion scripts and man pages, each a pure
// function of the command tree (cli/spec.h). Committed under completions/
// and man/; tests fail when the committed files drift from these.
#pragma once

#include <string>
#include <vector>

#include "cli/spec.h"

namespace axon::cli {

std::string bash_completion(const CommandSpec& root);
std::string zsh_completion(const CommandSpec& root);
std::string fish_completion(const CommandSpec& root);

// File names the committed scripts use: axon.bash, _axon, axon.fish.
std::string completion_file_name(const std::string& shell);
std::string completion_script(const CommandSpec& root, const std::string& shell);

struct ManPage {
  std::string file_name;  // "axon.1", "axon-connectivity-test.1"
  std::string content;    // troff (man macros)
};

// axon.1 plus one page per visible command.
std::vector<ManPage> man_pages(const CommandSpec& root, const std::string& version);

}  // namespace axon::cli
