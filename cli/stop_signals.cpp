#include "cli/stop_signals.h"

#include <signal.h>

namespace axon::cli {
namespace {

// Constant-initialised, so the handler never touches an object still being
// constructed.
constinit std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_signal(int) {
  g_stop.store(true);
}

}  // namespace

void handle_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

std::atomic<bool>& stop_flag() {
  return g_stop;
}

StopSignalScope::StopSignalScope() {
  g_stop.store(false);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int_);
  ::sigaction(SIGTERM, &sa, &old_term_);
}

StopSignalScope::~StopSignalScope() {
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGTERM, &old_term_, nullptr);
}

}  // namespace axon::cli
