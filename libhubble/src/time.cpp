#include "axon/hubble/time.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "axon/base/strings.h"

namespace axon::hubble {
namespace {

constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<const char*, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed",
                                                  "Thu", "Fri", "Sat"};

struct Civil {
  int64_t year;
  int month, day, hour, minute, second;
  int64_t nanos;
  int weekday;  // 0 = Sunday
};

// Days since 1970-01-01 -> civil date (H. Hinnant's algorithm).
Civil to_civil(int64_t unix_ns) {
  int64_t secs = unix_ns / 1000000000;
  int64_t nanos = unix_ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  Civil c{};
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem % 3600 / 60);
  c.second = static_cast<int>(rem % 60);
  c.nanos = nanos;
  c.weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
  return c;
}

int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::string two(int v) {
  char b[8];
  std::snprintf(b, sizeof(b), "%02d", v);
  return b;
}

std::string date(const Civil& c) {
  char b[32];
  std::snprintf(b, sizeof(b), "%04lld-%02d-%02d", static_cast<long long>(c.year), c.month, c.day);
  return b;
}

// Go's ".999..." (trailing zeros trimmed, nothing when zero) with `digits`.
std::string trimmed_fraction(int64_t nanos, int digits) {
  char b[16];
  std::snprintf(b, sizeof(b), "%09lld", static_cast<long long>(nanos));
  std::string f(b, b + digits);
  while (!f.empty() && f.back() == '0') f.pop_back();
  return f.empty() ? "" : "." + f;
}

// ---- parsing ---------------------------------------------------------------

struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  bool eat(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  std::optional<int> digits(int n) {
    if (i + n > s.size()) return std::nullopt;
    int v = 0;
    for (int k = 0; k < n; ++k) {
      char c = s[i + k];
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    i += n;
    return v;
  }
};

bool valid_date(int y, int m, int d) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

// YYYY-MM-DD[THH[:MM[:SS[.frac]]]ZONE] with ZONE = Z or ±HH:MM (required
// after a time).
std::optional<int64_t> parse_iso(std::string_view text) {
  Cursor c{text};
  auto y = c.digits(4);
  if (!y || !c.eat('-')) return std::nullopt;
  auto mo = c.digits(2);
  if (!mo || !c.eat('-')) return std::nullopt;
  auto d = c.digits(2);
  if (!d || !valid_date(*y, *mo, *d)) return std::nullopt;
  int64_t secs = days_from_civil(*y, *mo, *d) * 86400;
  if (c.done()) return secs * 1000000000;
  if (!c.eat('T')) return std::nullopt;
  auto h = c.digits(2);
  if (!h || *h > 23) return std::nullopt;
  int minute = 0, second = 0;
  int64_t nanos = 0;
  if (c.eat(':')) {
    auto mi = c.digits(2);
    if (!mi || *mi > 59) return std::nullopt;
    minute = *mi;
    if (c.eat(':')) {
      auto se = c.digits(2);
      if (!se || *se > 59) return std::nullopt;
      second = *se;
      if (c.eat('.')) {
        int n = 0;
        while (!c.done() && std::isdigit(static_cast<unsigned char>(c.s[c.i]))) {
          if (n < 9) nanos = nanos * 10 + (c.s[c.i] - '0');
          ++n;
          ++c.i;
        }
        if (n == 0) return std::nullopt;
        for (int k = n; k < 9; ++k) nanos *= 10;
      }
    }
  }
  int64_t offset = 0;
  if (c.eat('Z')) {
  } else if (!c.done() && (c.s[c.i] == '+' || c.s[c.i] == '-')) {
    int sign = c.s[c.i] == '-' ? -1 : 1;
    ++c.i;
    auto oh = c.digits(2);
    if (!oh || !c.eat(':')) return std::nullopt;
    auto om = c.digits(2);
    if (!om) return std::nullopt;
    offset = sign * (*oh * 3600 + *om * 60);
  } else {
    return std::nullopt;
  }
  if (!c.done()) return std::nullopt;
  secs += *h * 3600 + minute * 60 + second - offset;
  return secs * 1000000000 + nanos;
}

// "Mon, 02 Jan 2006 15:04:05 -0700"
std::optional<int64_t> parse_rfc1123z(std::string_view text) {
  if (text.size() != 31 || text[3] != ',' || text[4] != ' ') return std::nullopt;
  Cursor c{text.substr(5)};
  auto d = c.digits(2);
  if (!d || !c.eat(' ')) return std::nullopt;
  int month = 0;
  for (int m = 0; m < 12; ++m) {
    if (c.s.substr(c.i, 3) == kMonths[m]) month = m + 1;
  }
  if (month == 0) return std::nullopt;
  c.i += 3;
  if (!c.eat(' ')) return std::nullopt;
  auto y = c.digits(4);
  if (!y || !c.eat(' ')) return std::nullopt;
  auto h = c.digits(2);
  if (!h || !c.eat(':')) return std::nullopt;
  auto mi = c.digits(2);
  if (!mi || !c.eat(':')) return std::nullopt;
  auto s = c.digits(2);
  if (!s || !c.eat(' ')) return std::nullopt;
  int sign = c.eat('-') ? -1 : (c.eat('+') ? 1 : 0);
  auto oh = c.digits(2), om = c.digits(2);
  if (sign == 0 || !oh || !om || !valid_date(*y, month, *d) || *h > 23 || *mi > 59 || *s > 59)
    return std::nullopt;
  int64_t secs = days_from_civil(*y, month, *d) * 86400 + *h * 3600 + *mi * 60 + *s -
                 sign * (*oh * 3600 + *om * 60);
  return secs * 1000000000;
}

}  // namespace

const std::vector<std::string>& time_format_names() {
  static const std::vector<std::string> names = {
      "StampMilli", "YearMonthDay", "YearMonthDayHour", "YearMonthDayHourMinute",
      "RFC3339",    "RFC3339Milli", "RFC3339Micro",     "RFC3339Nano",
      "RFC1123Z"};
  return names;
}

std::string format_time(int64_t unix_ns, std::string_view format) {
  Civil c = to_civil(unix_ns);
  std::string f = to_lower(std::string(format));
  std::string hms = two(c.hour) + ":" + two(c.minute) + ":" + two(c.second);
  if (f == "yearmonthday") return date(c);
  if (f == "yearmonthdayhour") return date(c) + "T" + two(c.hour) + "Z";
  if (f == "yearmonthdayhourminute") return date(c) + "T" + two(c.hour) + ":" + two(c.minute) + "Z";
  if (f == "rfc3339") return date(c) + "T" + hms + "Z";
  if (f == "rfc3339milli") return date(c) + "T" + hms + trimmed_fraction(c.nanos, 3) + "Z";
  if (f == "rfc3339micro") return date(c) + "T" + hms + trimmed_fraction(c.nanos, 6) + "Z";
  if (f == "rfc3339nano") return date(c) + "T" + hms + trimmed_fraction(c.nanos, 9) + "Z";
  if (f == "rfc1123z") {
    char b[64];
    std::snprintf(b, sizeof(b), "%s, %02d %s %04lld %s +0000", kWeekdays[c.weekday], c.day,
                  kMonths[c.month - 1], static_cast<long long>(c.year), hms.c_str());
    return b;
  }
  // StampMilli: "Jan _2 15:04:05.000" (the day padded with a space).
  char b[64];
  std::snprintf(b, sizeof(b), "%s %2d %s.%03lld", kMonths[c.month - 1], c.day, hms.c_str(),
                static_cast<long long>(c.nanos / 1000000));
  return b;
}

std::optional<int64_t> parse_go_duration_ns(std::string_view text) {
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double v = 0;
    bool any = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + (s[i++] - '0');
      any = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        v += (s[i++] - '0') * scale;
        scale /= 10;
        any = true;
      }
    }
    if (!any) return std::nullopt;
    size_t u = i;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    std::string_view unit = s.substr(i, u - i);
    long double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") mult = 1e3L;
    else if (unit == "ms") mult = 1e6L;
    else if (unit == "s") mult = 1e9L;
    else if (unit == "m") mult = 60e9L;
    else if (unit == "h") mult = 3600e9L;
    else return std::nullopt;
    total += v * mult;
    s.remove_prefix(u);
  }
  if (total > 9.2e18L) return std::nullopt;
  auto ns = static_cast<int64_t>(std::llround(static_cast<double>(total)));
  return neg ? -ns : ns;
}

Result<int64_t> parse_time(std::string_view text, int64_t now_ns) {
  if (auto d = parse_go_duration_ns(text)) return now_ns - *d;
  if (auto t = parse_iso(text)) return *t;
  if (auto t = parse_rfc1123z(text)) return *t;
  return Error{"cannot read \"" + std::string(text) +
               "\" as a time: use a duration back from now (3s, 4m, 1h43m) or an absolute time "
               "(2006-01-02, 2006-01-02T15:04:05Z, RFC 3339, RFC 1123 with numeric zone)"};
}

}  // namespace axon::hubble
