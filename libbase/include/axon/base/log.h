// The logging facade every part of axon writes diagnostics through.
//
// Levels: error and warn always show; info shows with -v, debug with -vv,
// trace with -vvv. hint is "how to fix it", printed right after an error or
// warning at the same visibility. Library code never writes to stdout: that
// belongs to the CLI's renderers. Messages go to one sink (stderr by
// default); tests and daemons may redirect it.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <string>
#include <string_view>

namespace axon::log {

enum class Level { error = 0, warn = 1, hint = 2, info = 3, debug = 4, trace = 5 };

// The most verbose level that is emitted. Default: hint (errors, warnings, hints).
void set_max_level(Level level);
Level max_level();
bool enabled(Level level);

// Replace the sink (default: writes "level: message\n" to stderr).
using Sink = std::function<void(Level, std::string_view)>;
void set_sink(Sink sink);
void reset_sink();

void write(Level level, std::string_view message);
std::string_view level_name(Level level);

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::warn)) write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void hint(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::hint)) write(Level::hint, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void trace(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::trace)) write(Level::trace, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace axon::log
