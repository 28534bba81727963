// The command tree as completion and man generators see it.
#include "cli/docs.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "cli/spec.h"
#include "cli_runner.h"

using namespace axon::cli;

namespace {

struct Tree {
  std::ostringstream out, err;
  Context ctx{out, err};
  Cli cli{ctx};
  CommandSpec spec = describe(cli);
};

const CommandSpec* find(const CommandSpec& root, const std::string& path) {
  for (const auto* c : flatten(root)) {
    if (c->path_string() == path) return c;
  }
  return nullptr;
}

const FlagSpec* flag(const std::vector<FlagSpec>& flags, const std::string& spelling) {
  for (const auto& f : flags) {
    for (const auto& s : f.spellings()) {
      if (s == spelling) return &f;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("every visible command and flag is documented") {
  Tree t;
  CHECK(find(t.spec, "gen-docs") == nullptr);
  for (const auto* c : flatten(t.spec)) {
    CAPTURE(c->full_name());
    CHECK_FALSE(c->summary.empty());
    std::set<std::string> seen;
    for (const auto& f : c->all_flags()) {
      CAPTURE(f.primary());
      CHECK_FALSE(f.description.empty());
      for (const auto& s : f.spellings()) {
        CHECK_MESSAGE(seen.insert(s).second, "spelling listed twice: " << s);
      }
    }
  }
}

TEST_CASE("the headline commands carry the anchors' flags") {
  Tree t;
  const auto* observe = find(t.spec, "observe");
  REQUIRE(observe != nullptr);
  for (const char* f : {"--last",
                        "--first",
                        "--all",
                        "--follow",
                        "-f",
                        "--since",
                        "--until",
                        "--not",
                        "--verdict",
                        "--namespace",
                        "-n",
                        "--pod",
                        "--from-pod",
                        "--to-pod",
                        "--label",
                        "--protocol",
                        "--port",
                        "--ip",
                        "--identity",
                        "--type",
                        "--node-name",
                        "--traffic-direction",
                        "--http-method",
                        "--http-path",
                        "--http-status",
                        "-o",
                        "--print-node-name",
                        "--time-format",
                        "--server",
                        "--node",
                        "--input-file"}) {
    CAPTURE(f);
    CHECK(flag(observe->flags, f) != nullptr);
  }
  const auto* verdict = flag(observe->flags, "--verdict");
  CHECK(verdict->choices == std::vector<std::string>{"FORWARDED", "DROPPED", "AUDIT", "REDIRECTED",
                                                     "ERROR", "TRACED", "TRANSLATED"});
  CHECK(verdict->repeatable);
  // observe's own -o shadows the global one.
  CHECK(flag(observe->inherited_flags, "-o") == nullptr);
  CHECK(flag(observe->flags, "-o")->default_value == "compact");

  const auto* status = find(t.spec, "status");
  for (const char* f : {"--wait", "--wait-duration", "--ignore-warnings", "-o"}) {
    CHECK(flag(status->flags, f) != nullptr);
  }
  CHECK(flag(status->flags, "--wait-duration")->default_value == "5m");

  const auto* install = find(t.spec, "install");
  for (const char* f : {"-f", "--values", "--set", "--set-string", "--set-file", "--dry-run",
                        "--dry-run-helm-values", "--wait", "--wait-duration", "--version"}) {
    CHECK(flag(install->flags, f) != nullptr);
  }
  CHECK(flag(install->flags, "-f")->hint == ValueHint::file);

  const auto* ct = find(t.spec, "connectivity test");
  for (const char* f : {"--test", "--test-namespace", "--junit-file", "--flow-validation",
                        "--timeout", "--repeat-count", "--keep", "--exit-zero-on-failure"}) {
    CHECK(flag(ct->flags, f) != nullptr);
  }
  CHECK(flag(ct->flags, "--test-namespace")->default_value == "axon-test");
}

TEST_CASE("global flags are inherited by every command, --version only by none") {
  Tree t;
  for (const auto* c : flatten(t.spec)) {
    if (c->path.empty()) continue;
    CAPTURE(c->full_name());
    CHECK(flag(c->all_flags(), "--state-dir") != nullptr);
    CHECK(flag(c->all_flags(), "--no-color") != nullptr);
    CHECK(flag(c->inherited_flags, "--version") == nullptr);
  }
}

TEST_CASE("generated artefacts are deterministic and complete") {
  Tree a, b;
  for (const std::string shell : {"bash", "zsh", "fish"}) {
    CAPTURE(shell);
    auto script = completion_script(a.spec, shell);
    CHECK(script == completion_script(b.spec, shell));
    CHECK(script.find("FORWARDED DROPPED AUDIT") != std::string::npos);
    CHECK(script.find("observe") != std::string::npos);
  }
  auto pages = man_pages(a.spec, "9.9.9");
  std::set<std::string> names;
  for (const auto& p : pages) names.insert(p.file_name);
  // One page per visible command, plus axon.1.
  CHECK(names.size() == flatten(a.spec).size());
  for (const char* page : {"axon.1", "axon-install.1", "axon-status.1", "axon-connectivity.1",
                           "axon-connectivity-test.1", "axon-observe.1", "axon-completion.1", "axon-version.1",
                           "axon-policy.1", "axon-policy-validate.1", "axon-policy-fix.1",
                           "axon-policy-trace.1", "axon-policy-get.1"}) {
    CHECK_MESSAGE(names.count(page) == 1, page);
  }
}

TEST_CASE("man pages escape what troff would misread") {
  Tree t;
  for (const auto& p : man_pages(t.spec, "1.0.0")) {
    CAPTURE(p.file_name);
    CHECK(p.content.find(".TH \"") != std::string::npos);
    CHECK(p.content.find("\"axon 1.0.0\"") != std::string::npos);
    // Every option dash is escaped (so it stays an ASCII hyphen-minus).
    CHECK(p.content.find("\\fB--") == std::string::npos);
  }
  auto pages = man_pages(t.spec, "1.0.0");
  auto observe = std::find_if(pages.begin(), pages.end(),
                              [](const auto& p) { return p.file_name == "axon-observe.1"; });
  REQUIRE(observe != pages.end());
  CHECK(observe->content.find("\\fB\\-\\-verdict\\fR") != std::string::npos);
  CHECK(observe->content.find(".SS Selectors") != std::string::npos);
}

TEST_CASE("flags take no value in the spec; positionals carry their suggestions") {
  Tree t;
  const auto* get = find(t.spec, "get");
  REQUIRE(get != nullptr);
  const FlagSpec* all = flag(get->flags, "-A");
  REQUIRE(all != nullptr);
  CHECK_FALSE(all->takes_value);  // so completion does not take the next word for its value
  const FlagSpec* ns = flag(get->flags, "-n");
  REQUIRE(ns != nullptr);
  CHECK(ns->takes_value);
  CHECK_FALSE(flag(get->inherited_flags, "--no-color")->takes_value);
  REQUIRE(get->positionals.size() == 1);
  const auto& kinds = get->positionals.front().suggestions;
  CHECK(std::find(kinds.begin(), kinds.end(), "pods") != kinds.end());
  CHECK(std::find(kinds.begin(), kinds.end(), "ciliumnetworkpolicies") != kinds.end());
  CHECK(get->positionals.front().choices.empty());  // any NAME is accepted after the kind
}
