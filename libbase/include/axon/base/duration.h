// Durations as Go, Kubernetes and Cilium users write them: "300ms", "5s",
// "1h30m", "0". Used by flags (--wait-duration 5m) and values
// (l2announcements.leaseDuration: 15s).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "axon/base/result.h"

namespace axon {

// Units: ns, us (or µs), ms, s, m, h; several may follow each other ("1h2m3s").
// A bare "0" is zero. Negative durations and unitless numbers are errors.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// The shortest exact spelling: 300000000000ns -> "5m", 90s -> "1m30s".
std::string format_duration(std::chrono::nanoseconds d);

}  // namespace axon
