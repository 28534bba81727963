// Times as `hubble observe` prints and parses them: the named layouts of
// --time-format (always rendered in UTC), and --since/--until values, either
// a Go duration back from now ("3s", "1h43m", "1.5h") or an absolute time in
// one of the layouts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "axon/base/result.h"

namespace axon::hubble {

// StampMilli (default), YearMonthDay, YearMonthDayHour,
// YearMonthDayHourMinute, RFC3339, RFC3339Milli, RFC3339Micro, RFC3339Nano,
// RFC1123Z.
const std::vector<std::string>& time_format_names();

// `unix_ns` in UTC in the layout `format` (a name above; unknown names fall
// back to StampMilli, as Hubble's do): StampMilli "Dec  1 12:00:00.123",
// RFC3339Milli "2023-12-01T12:00:00.12Z" (trailing zeros dropped, as Go's
// .999 does), RFC1123Z "Fri, 01 Dec 2023 12:00:00 +0000".
std::string format_time(int64_t unix_ns, std::string_view format);

// A Go duration: "300ms", "-1.5h", "1h2m3s", "0". Units ns, us, µs, ms, s, m, h.
std::optional<int64_t> parse_go_duration_ns(std::string_view text);

// A --since/--until value relative to `now_ns`: a duration means that long
// ago; otherwise one of the absolute layouts (YearMonthDay, ..., RFC3339
// with or without fraction, RFC1123Z).
Result<int64_t> parse_time(std::string_view text, int64_t now_ns);

}  // namespace axon::hubble
