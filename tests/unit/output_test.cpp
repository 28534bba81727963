#include "cli/output.h"

#include <doctest/doctest.h>

#include <sstream>

using namespace axon::cli;

TEST_CASE("tables pad columns to the widest cell plus three spaces") {
  Table t({"NAME", "READY"});
  t.row({"axon-agent-abcde", "1/1"});
  t.row({"op", "0/1"});
  std::ostringstream out;
  t.print(out);
  CHECK(out.str() ==
        "NAME               READY\n"
        "axon-agent-abcde   1/1\n"
        "op                 0/1\n");
}

TEST_CASE("table width ignores color codes and counts characters, not bytes") {
  Style on(true);
  CHECK(display_width(on.green("OK")) == 2);
  CHECK(display_width("✅ ok") == 4);
  Table t;
  t.row({on.red("DROPPED"), "x"});
  t.row({"FORWARDED", "y"});
  std::ostringstream out;
  t.print(out);
  CHECK(out.str() == "\x1b[31mDROPPED\x1b[0m     x\nFORWARDED   y\n");
}

TEST_CASE("a disabled style leaves text alone") {
  Style off(false);
  CHECK(off.red("x") == "x");
  CHECK_FALSE(off.enabled());
}

TEST_CASE("YAML keeps strings that look like other types as strings") {
  nlohmann::ordered_json doc = {{"port", "8080"}, {"enabled", "true"}, {"name", "api"},
                                {"n", 3},         {"empty", ""},       {"list", {"a", "on"}}};
  std::ostringstream out;
  print_yaml(out, doc);
  CHECK(out.str() ==
        "port: \"8080\"\n"
        "enabled: \"true\"\n"
        "name: api\n"
        "n: 3\n"
        "empty: \"\"\n"
        "list:\n"
        "  - a\n"
        "  - \"on\"\n");
}

TEST_CASE("JSON keeps insertion order") {
  nlohmann::ordered_json doc = {{"b", 1}, {"a", 2}};
  std::ostringstream out;
  print_json(out, doc);
  CHECK(out.str() == "{\n  \"b\": 1,\n  \"a\": 2\n}\n");
}
