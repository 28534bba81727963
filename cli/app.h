// The axon CLI: the CLI11 app assembled from every registered command, the
// global flags, and the one place where errors become exit codes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/context.h"

namespace axon::cli {

class Cli {
 public:
  // Builds the whole command tree; commands bind their flags into `ctx`.
  explicit Cli(Context& ctx);

  CLI::App& root() { return root_; }
  const CLI::App& root() const { return root_; }
  const CliModel& model() const { return model_; }

  // Parses `args` (without argv[0]) and runs the selected command.
  // Returns the process exit code: 0, 1 or 2 (see cli/context.h).
  int run(const std::vector<std::string>& args);

 private:
  void add_global_flags();
  CLI::App& ensure_path(const std::vector<std::string>& words);
  int report_extras();

  Context& ctx_;
  CliModel model_;
  CLI::App root_;
  bool show_version_ = false;
};

// The root's global flags (shown in every command's help footer).
std::string global_flags_footer();

// Convenience for tests and main: builds a Cli and runs it.
int run_cli(Context& ctx, const std::vector<std::string>& args);

}  // namespace axon::cli
