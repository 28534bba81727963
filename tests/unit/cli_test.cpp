// The CLI contract: commands listed, usage errors on one line with the valid
// choices and exit 2, unimplemented commands never faking success.
#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

using axon::test::run_axon;

namespace {

size_t lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST_CASE("axon --help lists the headline commands and exits 0") {
  auto r = run_axon({"--help"});
  CHECK(r.code == 0);
  for (const char* cmd :
       {"install", "status", "connectivity", "observe", "completion", "version"}) {
    CAPTURE(cmd);
    CHECK(r.out.find("\n  " + std::string(cmd) + " ") != std::string::npos);
  }
  CHECK(r.out.find("gen-docs") == std::string::npos);  // hidden
  CHECK(r.err.empty());
}

TEST_CASE("bare axon and a bare group print help and exit 0") {
  CHECK(run_axon({}).out.find("Usage: axon") != std::string::npos);
  auto r = run_axon({"connectivity"});
  CHECK(r.code == 0);
  CHECK(r.out.find("Usage: axon connectivity") != std::string::npos);
  CHECK(r.out.find("test") != std::string::npos);
}

TEST_CASE("subcommand help names the full command") {
  auto r = run_axon({"connectivity", "test", "--help"});
  CHECK(r.code == 0);
  CHECK(r.out.find("Usage: axon connectivity test") != std::string::npos);
  CHECK(r.out.find("--junit-file") != std::string::npos);
}

TEST_CASE("an invalid enumerated value is a one-line usage error listing the choices") {
  auto r = run_axon({"observe", "--verdict", "MAYBE"});
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.starts_with("Error: --verdict: invalid value \"MAYBE\""));
  for (const char* v :
       {"FORWARDED", "DROPPED", "AUDIT", "REDIRECTED", "ERROR", "TRACED", "TRANSLATED"}) {
    CHECK(r.err.find(v) != std::string::npos);
  }
  CHECK(r.out.empty());
}

TEST_CASE("unknown commands and flags are one-line usage errors with suggestions") {
  auto r = run_axon({"nosuch"});
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("unknown command \"nosuch\" for \"axon\"") != std::string::npos);
  // The list names every command, sorted; the headline ones among them.
  auto list_at = r.err.find("valid commands: ");
  REQUIRE(list_at != std::string::npos);
  std::string list = r.err.substr(list_at + 16);
  list.pop_back();  // newline
  std::vector<std::string> names;
  for (size_t pos = 0; pos != std::string::npos;) {
    size_t comma = list.find(", ", pos);
    names.push_back(list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    pos = comma == std::string::npos ? comma : comma + 2;
  }
  CHECK(std::is_sorted(names.begin(), names.end()));
  for (const char* cmd : {"install", "status", "connectivity", "observe", "policy", "completion", "version"}) {
    CHECK(std::find(names.begin(), names.end(), cmd) != names.end());
  }

  r = run_axon({"obsrve"});
  CHECK(r.code == 2);
  CHECK(r.err.find("did you mean \"observe\"?") != std::string::npos);

  r = run_axon({"connectivity", "tset"});
  CHECK(r.code == 2);
  CHECK(r.err.find("unknown command \"tset\" for \"axon connectivity\" (did you mean \"test\"?)") !=
        std::string::npos);

  r = run_axon({"observe", "--verdit", "DROPPED"});
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  CHECK(
      r.err.find("unknown flag \"--verdit\" for \"axon observe\" (did you mean \"--verdict\"?)") !=
      std::string::npos);

  r = run_axon({"version", "extra"});
  CHECK(r.code == 2);
  CHECK(r.err.find("unexpected argument \"extra\" for \"axon version\"") != std::string::npos);
}

TEST_CASE("bad values of typed flags are usage errors") {
  auto r = run_axon({"-o", "xml", "version"});
  CHECK(r.code == 2);
  CHECK(r.err.find("valid values: table, json, yaml") != std::string::npos);

  r = run_axon({"status", "--wait-duration", "5x"});
  CHECK(r.code == 2);
  CHECK(r.err.find("invalid duration \"5x\"") != std::string::npos);

  r = run_axon({"observe", "--last", "many"});
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);

  r = run_axon({"completion"});
  CHECK(r.code == 2);
  r = run_axon({"completion", "tcsh"});
  CHECK(r.code == 2);
  CHECK(r.err.find("valid values: bash, zsh, fish") != std::string::npos);
}

TEST_CASE("connectivity test: usage errors exit 2, no lab to test exits 1 saying so") {
  auto bad = run_axon({"connectivity", "test", "--test", "("});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("--test: \"(\" is not a valid regular expression") != std::string::npos);
  auto zero = run_axon({"connectivity", "test", "--repeat-count", "0"});
  CHECK(zero.code == 2);
  auto none = run_axon({"connectivity", "test", "--junit-file", "out.xml"});
  CHECK(none.code == 1);
  CHECK(none.err.find("lab") != std::string::npos);
  CHECK(none.out.empty());
}

TEST_CASE("global flags work before and after the command") {
  auto before = run_axon({"-o", "json", "version"});
  auto after = run_axon({"version", "-o", "json"});
  CHECK(before.code == 0);
  CHECK(before.out == after.out);
  auto doc = nlohmann::json::parse(before.out);
  for (const char* key : {"version", "gitCommit", "compiler", "libbpf", "kernel"}) {
    CAPTURE(key);
    CHECK(doc.contains(key));
    CHECK_FALSE(doc[key].get<std::string>().empty());
  }
}

TEST_CASE("axon version prints every fact as a table and as YAML") {
  auto r = run_axon({"version"});
  CHECK(r.code == 0);
  for (const char* label : {"axon:", "git commit:", "compiler:", "libbpf:", "kernel:"}) {
    CHECK(r.out.find(label) != std::string::npos);
  }
  auto y = run_axon({"version", "-o", "yaml"});
  CHECK(y.out.find("libbpf: ") != std::string::npos);
  auto v = run_axon({"--version"});
  CHECK(v.code == 0);
  CHECK(v.out.starts_with("axon 0."));
}

TEST_CASE("a command's own -o shadows the global one") {
  // observe's formats are Hubble's; table|json|yaml is the global set.
  // Accepted; then no server answers (a socket that cannot exist: the
  // default, 127.0.0.1:4245, answers whenever a lab's relay runs here).
  auto r = run_axon({"observe", "-o", "jsonpb", "--server", "unix:///nonexistent/axon-test.sock"});
  CHECK(r.code == 1);
  CHECK(r.err.find("no flow server") != std::string::npos);
  r = run_axon({"observe", "-o", "yaml"});
  CHECK(r.code == 2);
  CHECK(r.err.find("compact, dict, json, jsonpb, table") != std::string::npos);
}

TEST_CASE("color follows the terminal, --no-color, NO_COLOR and TERM=dumb") {
  std::ostringstream out, err;
  axon::cli::Context ctx(out, err);
  std::map<std::string, std::string> env;
  ctx.getenv = [&env](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  CHECK_FALSE(ctx.color());  // not a terminal
  ctx.out_is_tty = true;
  CHECK(ctx.color());
  env["NO_COLOR"] = "1";
  CHECK_FALSE(ctx.color());
  env["NO_COLOR"] = "";  // empty NO_COLOR does not count (no-color.org)
  CHECK(ctx.color());
  env["TERM"] = "dumb";
  CHECK_FALSE(ctx.color());
  env.erase("TERM");
  ctx.global.no_color = true;
  CHECK_FALSE(ctx.color());
}
