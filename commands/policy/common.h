// What the `axon policy` commands share: reading manifest files (a
// directory means its *.yaml, *.yml and *.json files), printing problems.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "axon/policy/problem.h"
#include "cli/context.h"

namespace axon::commands::policy_cli {

struct InputFile {
  std::string path;
  std::string text;
};

// Reads every file (directories expanded, sorted). Unreadable: UsageError.
std::vector<InputFile> read_inputs(const std::vector<std::string>& paths);

// The command that repairs a problem, for the "run:" hint.
std::string fix_command(const std::string& file);

// One problem line, "error:"/"warning:" colored on a terminal, with
// "; run: axon policy fix -f FILE -w" when the fix can repair it.
std::string problem_line(const policy::Problem& p, bool color);

// The problem as JSON fields.
nlohmann::ordered_json problem_json(const policy::Problem& p);

// Writes a file in place: a temporary file beside it, then rename.
void write_file(const std::string& path, const std::string& text);

}  // namespace axon::commands::policy_cli
