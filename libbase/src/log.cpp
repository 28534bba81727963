#include "axon/base/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace axon::log {
namespace {

std::atomic<int> g_max_level{static_cast<int>(Level::hint)};

std::mutex& sink_mutex() {
  static std::mutex m;
  return m;
}

void stderr_sink(Level level, std::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(level_name(level).size()),
               level_name(level).data(), static_cast<int>(message.size()), message.data());
}

Sink& sink() {
  static Sink s = stderr_sink;
  return s;
}

}  // namespace

void set_max_level(Level level) {
  g_max_level.store(static_cast<int>(level));
}
Level max_level() {
  return static_cast<Level>(g_max_level.load());
}
bool enabled(Level level) {
  return static_cast<int>(level) <= g_max_level.load();
}

void set_sink(Sink s) {
  std::lock_guard lock(sink_mutex());
  sink() = std::move(s);
}

void reset_sink() {
  set_sink(stderr_sink);
}

void write(Level level, std::string_view message) {
  std::lock_guard lock(sink_mutex());
  sink()(level, message);
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::error:
      return "error";
    case Level::warn:
      return "warning";
    case Level::hint:
      return "hint";
    case Level::info:
      return "info";
    case Level::debug:
      return "debug";
    case Level::trace:
      return "trace";
  }
  return "log";
}

}  // namespace axon::log
