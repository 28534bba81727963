// Man pages (troff, man macros) for axon and each of its commands.
// Deterministic: no dates, so regenerating without changes is a no-op.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

#include "axon/base/strings.h"
#include "cli/docs.h"

namespace axon::cli {
namespace {

// Escapes text for troff: backslashes, hyphens (so they stay ASCII
// hyphen-minus for copy and paste), and control characters at line start.
std::string esc(const std::string& s) {
  std::string out;
  bool line_start = true;
  for (char c : s) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string page_name(const CommandSpec& c) {
  std::string n = "axon";
  for (const auto& p : c.path) n += "-" + p;
  return n;
}

// Paragraphs separated by blank lines become .PP blocks; lines starting
// with two spaces are kept as literal (no-fill) blocks.
std::string paragraphs(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  bool in_literal = false;
  bool para_open = false;
  for (std::string line; std::getline(in, line);) {
    bool literal = line.starts_with("  ");
    if (line.empty()) {
      if (in_literal) {
        out += ".fi\n.RE\n";
        in_literal = false;
      }
      para_open = false;
      continue;
    }
    if (literal && !in_literal) {
      out += ".PP\n.RS 4\n.nf\n";
      in_literal = true;
    } else if (!literal && in_literal) {
      out += ".fi\n.RE\n";
      in_literal = false;
      para_open = false;
    }
    if (!literal && !para_open) {
      out += ".PP\n";
      para_open = true;
    }
    out += esc(literal ? line.substr(2) : line) + "\n";
  }
  if (in_literal) out += ".fi\n.RE\n";
  return out;
}

std::string flag_entry(const FlagSpec& f) {
  std::string head;
  for (const auto& sp : f.spellings()) {
    if (!head.empty()) head += ", ";
    head += "\\fB" + esc(sp) + "\\fR";
  }
  if (f.takes_value) {
    // Choices are listed below; "{a|b|...}" would not fit a line.
    std::string value = f.choices.empty()       ? f.value_name
                        : !f.long_names.empty() ? to_upper(f.long_names.front())
                                                : "VALUE";
    head += " \\fI" + esc(value) + "\\fR";
  }
  std::string body = esc(f.description);
  if (!body.empty() && body.back() != '.') body += ".";
  if (!f.choices.empty()) {
    std::string list;
    for (const auto& c : f.choices) list += (list.empty() ? "" : ", ") + esc(c);
    body += " One of: " + list + ".";
  }
  if (!f.suggestions.empty()) {
    std::string list;
    for (const auto& c : f.suggestions) list += (list.empty() ? "" : ", ") + esc(c);
    body += " Values include: " + list + ".";
  }
  if (f.repeatable) body += " May be repeated.";
  if (!f.default_value.empty()) body += " Default: " + esc(f.default_value) + ".";
  if (!f.env.empty()) body += " Environment: \\fB" + esc(f.env) + "\\fR.";
  return ".TP\n" + head + "\n" + body + "\n";
}

std::string options_section(const std::string& title, const std::vector<FlagSpec>& flags) {
  if (flags.empty()) return "";
  // Groups in order of first appearance, as --help shows them.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const FlagSpec*>> groups;
  for (const auto& f : flags) {
    if (!groups.count(f.group)) order.push_back(f.group);
    groups[f.group].push_back(&f);
  }
  std::string out = ".SH " + title + "\n";
  for (const auto& g : order) {
    if (order.size() > 1 || (g != "Options" && g != "Global options"))
      out += ".SS " + esc(g) + "\n";
    for (const auto* f : groups[g]) out += flag_entry(*f);
  }
  return out;
}

std::string synopsis(const CommandSpec& c) {
  std::string out = ".SH SYNOPSIS\n.B " + esc(c.full_name()) + "\n";
  if (!c.children.empty()) out += "\\fICOMMAND\\fR\n";
  out += "[\\fIOPTIONS\\fR]\n";
  for (const auto& p : c.positionals) {
    std::string arg = "\\fI" + esc(to_upper(p.name)) + "\\fR" + (p.repeatable ? "..." : "");
    out += (p.required ? arg : "[" + arg + "]") + "\n";
  }
  return out;
}

std::string commands_section(const CommandSpec& c) {
  if (c.children.empty()) return "";
  std::string out = ".SH COMMANDS\n";
  for (const auto& ch : c.children) {
    out += ".TP\n\\fB" + esc(ch.name) + "\\fR\n" + esc(ch.summary) + " See \\fB" + page_name(ch) +
           "\\fR(1).\n";
  }
  return out;
}

std::string examples_section(const CommandSpec& c) {
  if (c.examples.empty()) return "";
  std::string out = ".SH EXAMPLES\n.nf\n";
  for (const auto& e : c.examples) out += esc(e) + "\n";
  return out + ".fi\n";
}

std::string see_also(const CommandSpec& c) {
  std::vector<std::string> refs;
  if (!c.path.empty()) refs.push_back("axon");
  if (c.path.size() > 1) {
    std::string parent = "axon";
    for (size_t i = 0; i + 1 < c.path.size(); ++i) parent += "-" + c.path[i];
    refs.push_back(parent);
  }
  for (const auto& ch : c.children) refs.push_back(page_name(ch));
  if (refs.empty()) return "";
  std::string out = ".SH SEE ALSO\n";
  for (size_t i = 0; i < refs.size(); ++i) {
    out += ".BR " + refs[i] + " (1)" + (i + 1 < refs.size() ? "," : "") + "\n";
  }
  return out;
}

constexpr const char* kExitStatus =
    ".SH EXIT STATUS\n"
    ".TP\n.B 0\nSuccess.\n"
    ".TP\n.B 1\nA check failed, or the operation did (the reason is on standard error).\n"
    ".TP\n.B 2\nUsage or input error: an unknown command or flag, an invalid value, a file that "
    "does not parse or validate. Nothing was changed.\n";

constexpr const char* kEnvironment =
    ".SH ENVIRONMENT\n"
    ".TP\n.B NO_COLOR\nWhen set and not empty, output is never colored.\n"
    ".TP\n.B AXON_STATE_DIR\nDefault for \\fB\\-\\-state\\-dir\\fR.\n"
    ".TP\n.B KUBECONFIG\nDefault for \\fB\\-\\-kubeconfig\\fR.\n"
    ".TP\n.B AXON_STORE\nWithout a kubeconfig, the etcd store to use instead of a lab (set in every "
    "lab pod; the daemons read it first).\n";

std::string page(const CommandSpec& c, const std::string& version) {
  std::string name = page_name(c);
  std::string out = ".\\\" Generated by axon from its command definitions; do not edit.\n";
  out += fmt::format(".TH \"{}\" \"1\" \"\" \"axon {}\" \"axon manual\"\n", esc(to_upper(name)),
                     version);
  out += ".nh\n.ad l\n";  // no hyphenation, no justification: flags stay whole
  out += ".SH NAME\n" + esc(name) + " \\- " + esc(c.summary) + "\n";
  out += synopsis(c);
  out += ".SH DESCRIPTION\n";
  out += paragraphs(c.description.empty() ? c.summary : c.description);
  out += commands_section(c);
  out += options_section("OPTIONS", c.flags);
  if (!c.path.empty()) out += options_section("GLOBAL OPTIONS", c.inherited_flags);
  out += examples_section(c);
  out += kExitStatus;
  if (c.path.empty()) out += kEnvironment;
  out += see_also(c);
  return out;
}

}  // namespace

std::vector<ManPage> man_pages(const CommandSpec& root, const std::string& version) {
  std::vector<ManPage> pages;
  for (const auto* c : flatten(root)) pages.push_back({page_name(*c) + ".1", page(*c, version)});
  return pages;
}

}  // namespace axon::cli
