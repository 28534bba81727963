// axon completion bash|zsh|fish: print a shell completion script.
#include "cli/app.h"
#include "cli/docs.h"
#include "cli/spec.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct Params {
  std::string shell;
};

int run(cli::Context& ctx, const Params& p) {
  // A fresh tree: the script describes every command, not this invocation.
  std::ostringstream sink;
  cli::Context quiet(sink, sink);
  cli::Cli cli(quiet);
  ctx.out << cli::completion_script(cli::describe(cli), p.shell);
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<Params>();
  b.description(
      "Print a completion script for bash, zsh or fish. It completes commands, flags and the "
      "values of flags that take one of a fixed set (such as --verdict or -o).\n"
      "\n"
      "bash:\n"
      "  source <(axon completion bash)\n"
      "  axon completion bash > /usr/share/bash-completion/completions/axon\n"
      "\n"
      "zsh (after compinit):\n"
      "  source <(axon completion zsh)\n"
      "  axon completion zsh > \"${fpath[1]}/_axon\"\n"
      "\n"
      "fish:\n"
      "  axon completion fish | source\n"
      "  axon completion fish > ~/.config/fish/completions/axon.fish");
  b.positional_choice("shell", p.shell, {"bash", "zsh", "fish"}, "The shell to complete for")
      ->required();
  b.example("source <(axon completion bash)");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(completion,
                      {"completion", "Print a shell completion script (bash, zsh, fish)",
                       "Other commands", axon::commands::setup})
