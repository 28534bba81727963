#include "cli/command.h"

#include <algorithm>
#include <cctype>

#include "axon/base/build_info.h"
#include "axon/base/strings.h"
#include "axon/base/duration.h"

namespace axon::cli {
namespace {

std::vector<CommandRegistration>& registry() {
  static std::vector<CommandRegistration> r;
  return r;
}

// Accepts any spelling of a choice regardless of case and rewrites the
// value to the canonical spelling; the error lists every valid value.
CLI::Validator choice_validator(std::vector<std::string> choices) {
  return CLI::Validator(
      [choices](std::string& value) -> std::string {
        for (const auto& c : choices) {
          if (to_lower(c) == to_lower(value)) {
            value = c;
            return {};
          }
        }
        return "invalid value \"" + value + "\"; valid values: " + join(choices, ", ");
      },
      "", "choice");
}

CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto d = parse_duration(value);
        return d ? std::string() : d.error().str();
      },
      "", "duration");
}

}  // namespace

std::vector<CommandRegistration> registered_commands() {
  auto r = registry();
  std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return r;
}

CommandRegistrar::CommandRegistrar(CommandRegistration registration) {
  registry().push_back(std::move(registration));
}

const OptionInfo* CliModel::find(const CLI::Option* opt) const {
  auto it = options_.find(opt);
  return it == options_.end() ? nullptr : &it->second;
}

const CommandInfo* CliModel::find(const CLI::App* app) const {
  auto it = commands_.find(app);
  return it == commands_.end() ? nullptr : &it->second;
}

void CommandBuilder::description(std::string text) {
  model_.command(&app_).description = std::move(text);
}

void CommandBuilder::example(std::string text) {
  model_.command(&app_).examples.push_back(std::move(text));
}

void CommandBuilder::action(Action action) {
  model_.command(&app_).action = std::move(action);
}

CLI::Option* CommandBuilder::finish(CLI::Option* opt, ValueHint hint, bool repeatable) {
  opt->group(group_);
  auto& info = model_.option(opt);
  if (info.hint == ValueHint::none) info.hint = hint;
  info.repeatable = repeatable;
  return opt;
}

CLI::Option* CommandBuilder::flag(const std::string& names, bool& var, const std::string& desc) {
  return finish(app_.add_flag(names, var, desc), ValueHint::none, false);
}

CLI::Option* CommandBuilder::count(const std::string& names, int& var, const std::string& desc) {
  return finish(app_.add_flag(names, var, desc), ValueHint::none, true);
}

CLI::Option* CommandBuilder::option(const std::string& names, std::string& var,
                                    const std::string& value_name, const std::string& desc) {
  auto* opt = app_.add_option(names, var, desc)->type_name(value_name);
  if (!var.empty()) opt->default_str(var);
  return finish(opt, ValueHint::none, false);
}

CLI::Option* CommandBuilder::option(const std::string& names, int& var,
                                    const std::string& value_name, const std::string& desc) {
  auto* opt =
      app_.add_option(names, var, desc)->type_name(value_name)->default_str(std::to_string(var));
  return finish(opt, ValueHint::none, false);
}

CLI::Option* CommandBuilder::option(const std::string& names, uint64_t& var,
                                    const std::string& value_name, const std::string& desc) {
  auto* opt =
      app_.add_option(names, var, desc)->type_name(value_name)->default_str(std::to_string(var));
  return finish(opt, ValueHint::none, false);
}

CLI::Option* CommandBuilder::list(const std::string& names, std::vector<std::string>& var,
                                  const std::string& value_name, const std::string& desc,
                                  bool comma) {
  auto* opt = app_.add_option(names, var, desc)->type_name(value_name)->allow_extra_args(false);
  if (comma) opt->delimiter(',');
  return finish(opt, ValueHint::none, true);
}

CLI::Option* CommandBuilder::choice(const std::string& names, std::string& var,
                                    std::vector<std::string> choices, const std::string& desc) {
  auto* opt = app_.add_option(names, var, desc);
  opt->type_name("{" + join(choices, "|") + "}");
  if (!var.empty()) opt->default_str(var);
  opt->check(choice_validator(choices));
  model_.option(opt).choices = std::move(choices);
  return finish(opt, ValueHint::choice, false);
}

CLI::Option* CommandBuilder::choices(const std::string& names, std::vector<std::string>& var,
                                     std::vector<std::string> choices, const std::string& desc) {
  auto* opt = app_.add_option(names, var, desc)->allow_extra_args(false);
  opt->type_name("{" + join(choices, "|") + "}");
  opt->check(choice_validator(choices));
  model_.option(opt).choices = std::move(choices);
  return finish(opt, ValueHint::choice, true);
}

CLI::Option* CommandBuilder::file(const std::string& names, std::string& var,
                                  const std::string& desc) {
  auto* opt = app_.add_option(names, var, desc)->type_name("FILE");
  return finish(opt, ValueHint::file, false);
}

CLI::Option* CommandBuilder::files(const std::string& names, std::vector<std::string>& var,
                                   const std::string& desc) {
  auto* opt = app_.add_option(names, var, desc)->type_name("FILE")->allow_extra_args(false);
  return finish(opt, ValueHint::file, true);
}

CLI::Option* CommandBuilder::duration(const std::string& names, std::string& var,
                                      const std::string& desc) {
  auto* opt = app_.add_option(names, var, desc)->type_name("DURATION");
  if (!var.empty()) opt->default_str(var);
  opt->check(duration_validator());
  return finish(opt, ValueHint::none, false);
}

CLI::Option* CommandBuilder::suggest(CLI::Option* opt, std::vector<std::string> values) {
  model_.option(opt).suggestions = std::move(values);
  return opt;
}

CLI::Option* CommandBuilder::positional_choice(const std::string& name, std::string& var,
                                               std::vector<std::string> choices,
                                               const std::string& desc) {
  auto* opt = app_.add_option(name, var, desc);
  opt->type_name("{" + join(choices, "|") + "}");
  opt->check(choice_validator(choices));
  model_.option(opt).choices = std::move(choices);
  return finish(opt, ValueHint::choice, false);
}

CLI::Option* CommandBuilder::positional_files(const std::string& name,
                                              std::vector<std::string>& var,
                                              const std::string& desc) {
  auto* opt = app_.add_option(name, var, desc)->type_name("FILE");
  return finish(opt, ValueHint::file, true);
}

CLI::Option* CommandBuilder::positional_list(const std::string& name, std::vector<std::string>& var,
                                             const std::string& desc) {
  auto* opt = app_.add_option(name, var, desc)->type_name("");
  return finish(opt, ValueHint::none, true);
}

int not_implemented(Context& ctx, const std::string& command, const std::string& what) {
  ctx.err << "Error: `" << command << "` is not implemented yet in axon " << build_info::version
          << ": " << what << "\n";
  return kExitFailed;
}

}  // namespace axon::cli
