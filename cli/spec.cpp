#include "cli/spec.h"

#include <algorithm>
#include <set>

namespace axon::cli {
namespace {

FlagSpec describe_flag(const CLI::Option& opt, const CliModel& model) {
  FlagSpec f;
  f.long_names = opt.get_lnames();
  f.short_names = opt.get_snames();
  // CLI11 gives flags a type size of 1 too; what tells them apart is that
  // a flag expects no value.
  f.takes_value = opt.get_expected_max() != 0;
  f.value_name = f.takes_value ? opt.get_type_name() : "";
  f.description = opt.get_description();
  f.group = opt.get_group();
  f.default_value = opt.get_default_str();
  f.env = opt.get_envname();
  if (const auto* info = model.find(&opt)) {
    f.choices = info->choices;
    f.suggestions = info->suggestions;
    f.hint = info->hint;
    f.repeatable = info->repeatable;
  }
  if (!f.takes_value) f.default_value.clear();
  return f;
}

CommandSpec describe_app(const CLI::App& app, const CliModel& model, std::vector<std::string> path,
                         const std::vector<FlagSpec>& inherited) {
  CommandSpec c;
  c.name = app.get_name();
  c.path = path;
  c.summary = app.get_description();
  c.group = app.get_group();
  if (const auto* info = model.find(&app)) {
    c.description = info->description;
    c.examples = info->examples;
    c.runnable = static_cast<bool>(info->action);
  }
  std::set<std::string> own_names;
  for (const auto* opt : app.get_options([](const CLI::Option*) { return true; })) {
    if (opt->get_group().empty()) continue;  // hidden
    if (opt->get_positional()) {
      PositionalSpec p;
      p.name = opt->get_name();
      p.description = opt->get_description();
      p.required = opt->get_required();
      p.repeatable = opt->get_expected_max() > 1;
      if (const auto* info = model.find(opt)) {
        p.choices = info->choices;
        p.suggestions = info->suggestions;
        p.hint = info->hint;
        p.repeatable = p.repeatable || info->repeatable;
      }
      c.positionals.push_back(std::move(p));
      continue;
    }
    FlagSpec f = describe_flag(*opt, model);
    for (const auto& s : f.spellings()) own_names.insert(s);
    c.flags.push_back(std::move(f));
  }
  for (const auto& f : inherited) {
    bool shadowed = false;
    for (const auto& s : f.spellings()) shadowed = shadowed || own_names.count(s) > 0;
    if (!shadowed) c.inherited_flags.push_back(f);
  }
  // What this command's children inherit: its own flags when it is the
  // root (global flags); commands' own flags do not fall through downwards.
  std::vector<FlagSpec> next_inherited = c.inherited_flags;
  if (path.empty()) {
    for (const auto& f : c.flags) {
      if (f.group == "Global options") next_inherited.push_back(f);
    }
  }
  std::vector<const CLI::App*> subs;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (!sub->get_group().empty()) subs.push_back(sub);
  }
  std::sort(subs.begin(), subs.end(),
            [](const auto* a, const auto* b) { return a->get_name() < b->get_name(); });
  for (const auto* sub : subs) {
    auto sub_path = path;
    sub_path.push_back(sub->get_name());
    c.children.push_back(describe_app(*sub, model, sub_path, next_inherited));
  }
  return c;
}

void flatten_into(const CommandSpec& c, std::vector<const CommandSpec*>& out) {
  out.push_back(&c);
  for (const auto& child : c.children) flatten_into(child, out);
}

}  // namespace

std::string FlagSpec::primary() const {
  if (!long_names.empty()) return "--" + long_names.front();
  return "-" + short_names.front();
}

std::vector<std::string> FlagSpec::spellings() const {
  std::vector<std::string> out;
  for (const auto& s : short_names) out.push_back("-" + s);
  for (const auto& l : long_names) out.push_back("--" + l);
  return out;
}

std::string CommandSpec::full_name() const {
  std::string n = "axon";
  for (const auto& p : path) n += " " + p;
  return n;
}

std::string CommandSpec::path_string() const {
  std::string n;
  for (const auto& p : path) n += (n.empty() ? "" : " ") + p;
  return n;
}

std::vector<FlagSpec> CommandSpec::all_flags() const {
  auto all = flags;
  all.insert(all.end(), inherited_flags.begin(), inherited_flags.end());
  return all;
}

CommandSpec describe(const Cli& cli) {
  auto spec = describe_app(cli.root(), cli.model(), {}, {});
  spec.name = "axon";
  return spec;
}

std::vector<const CommandSpec*> flatten(const CommandSpec& root) {
  std::vector<const CommandSpec*> out;
  flatten_into(root, out);
  return out;
}

}  // namespace axon::cli
