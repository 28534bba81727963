// Times as hubble observe prints and parses them.
#include "axon/hubble/time.h"

#include <doctest/doctest.h>

using namespace axon::hubble;

namespace {
// 2023-12-01T09:05:03.120450000Z, a Friday.
constexpr int64_t kT = (int64_t{1701421503} * 1000000000) + 120450000;
}  // namespace

TEST_CASE("every --time-format layout, in UTC") {
  CHECK(format_time(kT, "StampMilli") == "Dec  1 09:05:03.120");
  CHECK(format_time(kT, "YearMonthDay") == "2023-12-01");
  CHECK(format_time(kT, "YearMonthDayHour") == "2023-12-01T09Z");
  CHECK(format_time(kT, "YearMonthDayHourMinute") == "2023-12-01T09:05Z");
  CHECK(format_time(kT, "RFC3339") == "2023-12-01T09:05:03Z");
  CHECK(format_time(kT, "RFC3339Milli") == "2023-12-01T09:05:03.12Z");
  CHECK(format_time(kT, "RFC3339Micro") == "2023-12-01T09:05:03.12045Z");
  CHECK(format_time(kT, "RFC3339Nano") == "2023-12-01T09:05:03.12045Z");
  CHECK(format_time(kT, "RFC1123Z") == "Fri, 01 Dec 2023 09:05:03 +0000");
  CHECK(format_time(int64_t{1701421503} * 1000000000, "RFC3339Milli") == "2023-12-01T09:05:03Z");
  CHECK(format_time(0, "StampMilli") == "Jan  1 00:00:00.000");
  CHECK(format_time(int64_t{951782400} * 1000000000, "YearMonthDay") == "2000-02-29");
  CHECK(format_time(kT, "nonsense") == "Dec  1 09:05:03.120");
}

TEST_CASE("--since/--until: durations back from now, absolute layouts") {
  const int64_t now = kT;
  CHECK(*parse_time("3s", now) == now - 3'000'000'000);
  CHECK(*parse_time("1h43m", now) == now - int64_t{6180} * 1'000'000'000);
  CHECK(*parse_time("1.5h", now) == now - int64_t{5400} * 1'000'000'000);
  CHECK(*parse_time("300ms", now) == now - 300'000'000);
  CHECK(*parse_time("2023-12-01", now) == int64_t{1701388800} * 1'000'000'000);
  CHECK(*parse_time("2023-12-01T09Z", now) == int64_t{1701421200} * 1'000'000'000);
  CHECK(*parse_time("2023-12-01T09:05Z", now) == int64_t{1701421500} * 1'000'000'000);
  CHECK(*parse_time("2023-12-01T09:05:03Z", now) == int64_t{1701421503} * 1'000'000'000);
  CHECK(*parse_time("2023-12-01T09:05:03.12045Z", now) == kT);
  CHECK(*parse_time("2023-12-01T11:05:03+02:00", now) == int64_t{1701421503} * 1'000'000'000);
  CHECK(*parse_time("Fri, 01 Dec 2023 10:05:03 +0100", now) == int64_t{1701421503} * 1'000'000'000);
  CHECK_FALSE(parse_time("yesterday", now).ok());
  CHECK_FALSE(parse_time("2023-13-01", now).ok());
  CHECK_FALSE(parse_time("2023-02-30", now).ok());
  CHECK_FALSE(parse_time("2023-12-01T09:05:03", now).ok());  // a time needs a zone
  CHECK_FALSE(parse_go_duration_ns("5"));
  CHECK(*parse_go_duration_ns("-2m") == -120'000'000'000);
}
