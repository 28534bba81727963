#include <doctest/doctest.h>

#include "axon/base/result.h"
#include "axon/base/suggest.h"
#include "axon/base/duration.h"

using namespace std::chrono_literals;
using axon::format_duration;
using axon::parse_duration;

TEST_CASE("durations parse as Go writes them") {
  CHECK(*parse_duration("0") == 0ns);
  CHECK(*parse_duration("5m") == 5min);
  CHECK(*parse_duration("300ms") == 300ms);
  CHECK(*parse_duration("1h30m") == 90min);
  CHECK(*parse_duration("1.5s") == 1500ms);
  CHECK(*parse_duration("2us") == 2us);
  CHECK(*parse_duration("10ns") == 10ns);
  for (const char* bad : {"", "5", "5x", "-1s", "m", "1..2s", "5m3"}) {
    CAPTURE(bad);
    auto d = parse_duration(bad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().message.find("invalid duration") == 0);
  }
}

TEST_CASE("durations format to their shortest exact spelling") {
  CHECK(format_duration(0ns) == "0s");
  CHECK(format_duration(5min) == "5m");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(3723s) == "1h2m3s");
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(2us) == "2us");
  for (const char* text : {"15s", "5m", "1h30m", "250ms"}) {
    CHECK(format_duration(*parse_duration(text)) == text);
  }
}

TEST_CASE("edit distance and suggestions") {
  CHECK(axon::edit_distance("", "abc") == 3);
  CHECK(axon::edit_distance("kitten", "sitting") == 3);
  CHECK(axon::edit_distance("gatewayApi", "gatewayAPI") == 2);
  CHECK(axon::edit_distance("tset", "test") == 1);  // a swap is one edit
  CHECK(axon::edit_distance("ab", "ba") == 1);
  CHECK(axon::edit_distance("same", "same") == 0);
  std::vector<std::string> cmds = {"install", "status", "observe", "version"};
  CHECK(axon::closest_match("obsrve", cmds) == "observe");
  CHECK(axon::closest_match("stauts", cmds) == "status");
  CHECK(axon::closest_match("ver", cmds) == "version");  // prefix
  CHECK_FALSE(axon::closest_match("zzzzzz", cmds).has_value());
  CHECK_FALSE(axon::closest_match("", cmds).has_value());
}

TEST_CASE("Result carries a value or an error with errno") {
  axon::Result<int> ok = 3;
  CHECK(ok.ok());
  CHECK(*ok == 3);
  axon::Result<int> bad = axon::Error{"open thing", ENOENT};
  CHECK_FALSE(bad.ok());
  CHECK(bad.error().str() == "open thing: No such file or directory");
  axon::Status st;
  CHECK(st.ok());
  axon::Status failed = axon::Error{"plain"};
  CHECK(failed.error().str() == "plain");
}
