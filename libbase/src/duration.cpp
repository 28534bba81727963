#include "axon/base/duration.h"

#include <cctype>
#include <cstdint>
#include <limits>

namespace axon {
namespace {

struct Unit {
  std::string_view name;
  int64_t ns;
};

// Longest names first so "ms" is not read as "m".
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},  // µs
    {"ms", 1000 * 1000},
    {"s", 1000LL * 1000 * 1000},
    {"m", 60LL * 1000 * 1000 * 1000},
    {"h", 3600LL * 1000 * 1000 * 1000},
};

Error bad(std::string_view text, std::string_view why) {
  return Error{"invalid duration \"" + std::string(text) + "\": " + std::string(why) +
               " (examples: 500ms, 30s, 5m, 1h30m)"};
}

}  // namespace

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::nanoseconds{0};
  if (text.empty()) return bad(text, "empty");
  if (text.front() == '-') return bad(text, "must not be negative");
  size_t i = 0;
  long double total = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start)
      return bad(text, "expected a number at \"" + std::string(text.substr(start)) + "\"");
    std::string number(text.substr(start, i - start));
    if (number.find('.') != number.rfind('.')) return bad(text, "malformed number " + number);
    long double value = std::stold(number);
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (text.substr(i, u.name.size()) == u.name) {
        // "m" must not swallow the "m" of "ms".
        if (u.name == "m" && text.substr(i, 2) == "ms") continue;
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return bad(text, i == text.size() ? "missing unit after " + number
                                        : "unknown unit \"" + std::string(text.substr(i)) + "\"");
    }
    i += unit->name.size();
    total += value * static_cast<long double>(unit->ns);
  }
  if (total > static_cast<long double>(std::numeric_limits<int64_t>::max()))
    return bad(text, "too large");
  return std::chrono::nanoseconds{static_cast<int64_t>(total)};
}

std::string format_duration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  const int64_t sec = 1000LL * 1000 * 1000;
  if (ns % (1000LL * 1000) != 0 || ns < 1000LL * 1000) {
    if (ns % 1000 == 0) return out + std::to_string(ns / 1000) + "us";
    return out + std::to_string(ns) + "ns";
  }
  if (ns % sec != 0) return out + std::to_string(ns / (1000LL * 1000)) + "ms";
  int64_t s = ns / sec;
  if (s >= 3600) {
    out += std::to_string(s / 3600) + "h";
    s %= 3600;
  }
  if (s >= 60) {
    out += std::to_string(s / 60) + "m";
    s %= 60;
  }
  if (s > 0) out += std::to_string(s) + "s";
  return out;
}

}  // namespace axon
