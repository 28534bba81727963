// How a command joins the CLI.
//
// Each command lives in one file under commands/ and registers itself:
//
//   void setup(CommandBuilder& b) {
//     auto& p = b.params<ObserveParams>();
//     b.choices("--verdict", p.verdicts, kVerdicts, "Filter by verdict");
//     b.action([&p, &ctx = b.ctx()] { return run_observe(ctx, p); });
//   }
//   AXON_REGISTER_COMMAND(observe, {"observe", "Observe flows", "Observability", setup});
//
// cli/app.cpp builds the CLI11 app from every registration. What CLI11
// cannot tell about an option (its enumerated values, that it names a file,
// that it may repeat) is recorded in the CliModel, from which completions
// and man pages are generated: one definition, every artefact.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/context.h"

namespace axon::cli {

class CommandBuilder;

// A command's work once flags are parsed; returns the exit code.
using Action = std::function<int()>;

struct CommandRegistration {
  std::string path;     // words after "axon": "status", "connectivity test"
  std::string summary;  // one line, shown in listings
  std::string group;    // listing group under the parent ("" hides the command)
  void (*setup)(CommandBuilder&) = nullptr;  // flags and action; null for a pure group
};

// Every command registered in this binary, sorted by path.
std::vector<CommandRegistration> registered_commands();

struct CommandRegistrar {
  explicit CommandRegistrar(CommandRegistration registration);
};

#define AXON_REGISTER_COMMAND(id, ...)                             \
  namespace {                                                      \
  const ::axon::cli::CommandRegistrar axon_command_registrar_##id( \
      ::axon::cli::CommandRegistration __VA_ARGS__);               \
  }

// How the value of an option (or positional) is completed.
enum class ValueHint { none, choice, file, directory };

struct OptionInfo {
  std::vector<std::string> choices;      // the only valid values, canonical spelling
  std::vector<std::string> suggestions;  // offered on completion, not enforced
  ValueHint hint = ValueHint::none;
  bool repeatable = false;
};

struct CommandInfo {
  std::string description;            // long text for help and man DESCRIPTION
  std::vector<std::string> examples;  // "axon observe --verdict DROPPED  # what is dropped"
  Action action;                      // empty for a pure group
};

// What the CLI11 tree does not hold. Owned by the Cli (cli/app.h).
class CliModel {
 public:
  OptionInfo& option(const CLI::Option* opt) { return options_[opt]; }
  const OptionInfo* find(const CLI::Option* opt) const;
  CommandInfo& command(const CLI::App* app) { return commands_[app]; }
  const CommandInfo* find(const CLI::App* app) const;

  // Storage for a command's parsed parameters; lives as long as the model.
  template <typename T>
  T& keep() {
    auto p = std::make_shared<T>();
    kept_.push_back(p);
    return *p;
  }

 private:
  std::map<const CLI::Option*, OptionInfo> options_;
  std::map<const CLI::App*, CommandInfo> commands_;
  std::vector<std::shared_ptr<void>> kept_;
};

// A command's view of the CLI while it declares itself.
class CommandBuilder {
 public:
  CommandBuilder(CLI::App& app, CliModel& model, Context& ctx)
      : app_(app), model_(model), ctx_(ctx) {}

  CLI::App& app() { return app_; }
  Context& ctx() { return ctx_; }

  // Parameters the flags bind to and the action reads.
  template <typename T>
  T& params() {
    return model_.keep<T>();
  }

  void description(std::string text);
  void example(std::string text);
  void action(Action action);
  // Help and man pages group the options declared after this call.
  void group(std::string name) { group_ = std::move(name); }

  // A boolean flag; --name=false is accepted.
  CLI::Option* flag(const std::string& names, bool& var, const std::string& desc);
  // A counted flag (-vvv).
  CLI::Option* count(const std::string& names, int& var, const std::string& desc);

  // An option with one value. The current value of `var` is the default.
  CLI::Option* option(const std::string& names, std::string& var, const std::string& value_name,
                      const std::string& desc);
  CLI::Option* option(const std::string& names, int& var, const std::string& value_name,
                      const std::string& desc);
  CLI::Option* option(const std::string& names, uint64_t& var, const std::string& value_name,
                      const std::string& desc);
  // A repeatable option; every occurrence appends. With `comma`, one
  // occurrence may also hold a comma-separated list.
  CLI::Option* list(const std::string& names, std::vector<std::string>& var,
                    const std::string& value_name, const std::string& desc, bool comma = false);

  // An option whose value is one of `choices`, matched without regard to case
  // and stored in its canonical spelling.
  CLI::Option* choice(const std::string& names, std::string& var, std::vector<std::string> choices,
                      const std::string& desc);
  CLI::Option* choices(const std::string& names, std::vector<std::string>& var,
                       std::vector<std::string> choices, const std::string& desc);

  // An option naming a file (completed with file names).
  CLI::Option* file(const std::string& names, std::string& var, const std::string& desc);
  CLI::Option* files(const std::string& names, std::vector<std::string>& var,
                     const std::string& desc);
  // A duration option ("5m", "30s"), validated at parse time.
  CLI::Option* duration(const std::string& names, std::string& var, const std::string& desc);

  // Values to offer on completion for an option (or positional) that
  // accepts others too (--type trace:to-endpoint, the KIND of `axon get`).
  CLI::Option* suggest(CLI::Option* opt, std::vector<std::string> values);

  // Positional arguments.
  CLI::Option* positional_choice(const std::string& name, std::string& var,
                                 std::vector<std::string> choices, const std::string& desc);
  CLI::Option* positional_files(const std::string& name, std::vector<std::string>& var,
                                const std::string& desc);
  // Positional words (KIND NAME...); suggest() adds values to complete.
  CLI::Option* positional_list(const std::string& name, std::vector<std::string>& var,
                               const std::string& desc);

 private:
  CLI::Option* finish(CLI::Option* opt, ValueHint hint, bool repeatable);

  CLI::App& app_;
  CliModel& model_;
  Context& ctx_;
  std::string group_ = "Options";
};

// The uniform answer of a command whose implementation has not landed:
// says so on stderr and returns kExitFailed. Never a fake success.
int not_implemented(Context& ctx, const std::string& command, const std::string& what);

}  // namespace axon::cli
