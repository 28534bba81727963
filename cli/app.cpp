#include "cli/app.h"

#include <algorithm>
#include <sstream>

#include "axon/base/build_info.h"
#include "axon/base/log.h"
#include "axon/base/strings.h"
#include "axon/base/suggest.h"

namespace axon::cli {
namespace {

constexpr const char* kRootDescription =
    "axon: eBPF networking, policy, load balancing and flow observability for Kubernetes-style "
    "clusters.";

std::vector<std::string> split_words(const std::string& path) {
  std::vector<std::string> words;
  std::istringstream in(path);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// The command the user selected: the deepest parsed subcommand.
CLI::App* selected_leaf(CLI::App& root) {
  CLI::App* cur = &root;
  for (;;) {
    auto subs = cur->get_subcommands();
    if (subs.empty()) return cur;
    cur = subs.front();
  }
}

std::vector<CLI::App*> selected_chain(CLI::App& root) {
  std::vector<CLI::App*> chain{&root};
  for (;;) {
    auto subs = chain.back()->get_subcommands();
    if (subs.empty()) return chain;
    chain.push_back(subs.front());
  }
}

std::string full_name(const CLI::App* app) {
  std::string name = app->get_name();
  for (auto* p = app->get_parent(); p != nullptr; p = p->get_parent())
    name = p->get_name() + " " + name;
  return name;
}

std::vector<std::string> visible_subcommands(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (!sub->get_group().empty()) names.push_back(sub->get_name());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Long and short spellings of every flag usable at `app` (own and inherited).
std::vector<std::string> usable_flags(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent()) {
    for (const auto* opt : a->get_options([](const CLI::Option*) { return true; })) {
      if (opt->get_positional() || opt->get_group().empty()) continue;
      for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
      for (const auto& s : opt->get_snames()) names.push_back("-" + s);
    }
  }
  return names;
}

// CLI11 messages sometimes end with a period or a newline; keep one line.
std::string one_line(std::string msg) {
  for (auto& c : msg) {
    if (c == '\n') c = ' ';
  }
  while (!msg.empty() && (msg.back() == ' ' || msg.back() == '.')) msg.pop_back();
  return msg;
}

// Help lists command groups in the order they are first created: the
// groups of the seed's story first, then the rest alphabetically.
std::vector<CommandRegistration> in_listing_order(std::vector<CommandRegistration> regs) {
  static const std::vector<std::string> kGroupOrder = {
      "Getting started", "Cluster", "Policy", "Observability", "Lab", "Other commands"};
  auto rank = [](const std::string& group) {
    auto it = std::find(kGroupOrder.begin(), kGroupOrder.end(), group);
    return static_cast<size_t>(it - kGroupOrder.begin());
  };
  std::stable_sort(regs.begin(), regs.end(),
                   [&](const auto& a, const auto& b) { return rank(a.group) < rank(b.group); });
  return regs;
}

// Word-wraps prose at `width`; lines starting with two spaces stay as they are.
std::string wrap(const std::string& text, size_t width, const std::string& indent) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.starts_with("  ")) {
      out += (line.empty() ? "" : indent + line) + "\n";
      continue;
    }
    std::istringstream words(line);
    std::string cur;
    for (std::string w; words >> w;) {
      if (!cur.empty() && indent.size() + cur.size() + 1 + w.size() > width) {
        out += indent + cur + "\n";
        cur.clear();
      }
      cur += (cur.empty() ? "" : " ") + w;
    }
    out += indent + cur + "\n";
  }
  return out;
}

// CLI11's formatter, with the long description and examples from the
// model, and one blank line (not two) between option groups.
class HelpFormatter : public CLI::Formatter {
 public:
  explicit HelpFormatter(const CliModel& model) : model_(model) {}

  std::string make_description(const CLI::App* app) const override {
    std::string out = app->get_description() + "\n";
    const CommandInfo* info = model_.find(app);
    if (info != nullptr && !info->description.empty())
      out += "\n" + wrap(info->description, 80, "");
    return out + "\n";
  }

  std::string make_group(std::string group, bool is_positional,
                         std::vector<const CLI::Option*> opts) const override {
    std::string out = CLI::Formatter::make_group(std::move(group), is_positional, std::move(opts));
    if (out.starts_with("\n")) out.erase(0, 1);
    return is_positional ? out + "\n" : out;
  }

  std::string make_usage(const CLI::App* app, std::string name) const override {
    return CLI::Formatter::make_usage(app, std::move(name)) + "\n";
  }

  std::string make_footer(const CLI::App* app) const override {
    std::string out;
    const CommandInfo* info = model_.find(app);
    if (info != nullptr && !info->examples.empty()) {
      out += "Examples:\n";
      for (const auto& e : info->examples) out += "  " + e + "\n";
      out += "\n";
    }
    return out + CLI::Formatter::make_footer(app);
  }

 private:
  const CliModel& model_;
};

}  // namespace

std::string global_flags_footer() {
  return "Global options (see axon --help): -o/--output, --no-color, -v/--verbose, --state-dir, "
         "--lab, --kubeconfig, --context";
}

Cli::Cli(Context& ctx) : ctx_(ctx), root_(kRootDescription, "axon") {
  root_.allow_extras(true);  // unknown words are reported by report_extras()
  root_.fallthrough(true);   // global flags work after the command name too
  auto formatter = std::make_shared<HelpFormatter>(model_);
  formatter->column_width(34);
  root_.formatter(formatter);
  add_global_flags();
  root_.footer("Run `axon COMMAND --help` for the flags of a command; `man axon` for the manual.");
  for (const auto& reg : in_listing_order(registered_commands())) {
    auto words = split_words(reg.path);
    CLI::App& app = ensure_path(words);
    app.description(reg.summary);
    app.group(reg.group);
    if (reg.setup != nullptr) {
      CommandBuilder builder(app, model_, ctx_);
      reg.setup(builder);
    }
  }
}

void Cli::add_global_flags() {
  CommandBuilder b(root_, model_, ctx_);
  auto& g = ctx_.global;
  b.group("Global options");
  b.choice("-o,--output", g.output, {"table", "json", "yaml"},
           "Output format, for commands that print data");
  b.flag("--no-color", g.no_color, "Never color the output (NO_COLOR does the same)");
  b.count("-v,--verbose", g.verbose, "More detail on stderr: -v info, -vv debug, -vvv trace");
  b.option("--state-dir", g.state_dir, "DIR", "Where the lab keeps its state, sockets and logs")
      ->envname("AXON_STATE_DIR");
  model_.option(root_.get_option("--state-dir")).hint = ValueHint::directory;
  b.option("--lab", g.lab, "NAME", "The lab to talk to when several are up")->envname("AXON_LAB");
  b.file("--kubeconfig", g.kubeconfig,
         "Kubeconfig of a Kubernetes cluster to use instead of the lab")
      ->envname("KUBECONFIG");
  b.option("--context", g.kube_context, "NAME", "Kubeconfig context to use");
  b.group("Options");  // root only: not inherited by commands
  b.flag("--version", show_version_, "Print the version and exit");
}

CLI::App& Cli::ensure_path(const std::vector<std::string>& words) {
  CLI::App* cur = &root_;
  for (const auto& w : words) {
    CLI::App* next = nullptr;
    for (auto* sub : cur->get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->get_name() == w) next = sub;
    }
    if (next == nullptr) {
      next = cur->add_subcommand(w, "");
      next->footer(global_flags_footer());
    }
    cur = next;
  }
  return *cur;
}

int Cli::report_extras() {
  auto chain = selected_chain(root_);
  CLI::App* leaf = chain.back();
  for (auto* app : chain) {
    auto extras = app->remaining();
    // CLI11 leaves the "--" separator itself among the extras.
    extras.erase(std::remove(extras.begin(), extras.end(), "--"), extras.end());
    if (extras.empty()) continue;
    const std::string& word = extras.front();
    std::string where = full_name(leaf);
    if (word.size() > 1 && word[0] == '-') {
      std::string name = word.substr(0, word.find('='));
      auto hint = closest_match(name, usable_flags(*leaf));
      ctx_.err << "Error: unknown flag \"" << name << "\" for \"" << where << "\""
               << (hint ? " (did you mean \"" + *hint + "\"?)" : "") << "; run `" << where
               << " --help` for its flags\n";
    } else if (!visible_subcommands(*leaf).empty()) {
      auto subs = visible_subcommands(*leaf);
      auto hint = closest_match(word, subs);
      ctx_.err << "Error: unknown command \"" << word << "\" for \"" << where << "\""
               << (hint ? " (did you mean \"" + *hint + "\"?)" : "")
               << "; valid commands: " << join(subs, ", ") << "\n";
    } else {
      ctx_.err << "Error: unexpected argument \"" << word << "\" for \"" << where << "\"; run `"
               << where << " --help` for its usage\n";
    }
    return kExitUsage;
  }
  return kExitOk;
}

int Cli::run(const std::vector<std::string>& args) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 wants them reversed
  try {
    root_.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    ctx_.out << root_.help();  // CLI11 delegates to the selected command, with its full name
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    ctx_.out << root_.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    ctx_.err << "Error: " << one_line(e.what()) << "\n";
    return kExitUsage;
  }

  if (int rc = report_extras(); rc != kExitOk) return rc;

  auto& g = ctx_.global;
  log::set_max_level(g.verbose >= 3   ? log::Level::trace
                     : g.verbose == 2 ? log::Level::debug
                     : g.verbose == 1 ? log::Level::info
                                      : log::Level::hint);

  if (show_version_) {
    ctx_.out << "axon " << build_info::version << " (" << build_info::git_commit << ")\n";
    return kExitOk;
  }

  CLI::App* leaf = selected_leaf(root_);
  const CommandInfo* info = model_.find(leaf);
  if (info == nullptr || !info->action) {
    // `axon` or a group such as `axon connectivity` alone: show what it offers.
    ctx_.out << root_.help();
    return kExitOk;
  }
  try {
    return info->action();
  } catch (const UsageError& e) {
    ctx_.err << "Error: " << e.what() << "\n";
    return kExitUsage;
  }
}

int run_cli(Context& ctx, const std::vector<std::string>& args) {
  Cli cli(ctx);
  return cli.run(args);
}

}  // namespace axon::cli
