// How daemons and long-running commands (agent, relay, ui, port-forward,
// workloads, the lab's kubelets and controller) stop: SIGTERM and SIGINT set
// one process-wide flag that their loops poll, so they can shut down in
// order. SIGPIPE is ignored: a peer that went away is an error return from
// write, not the end of the process.
//
//   cli::handle_stop_signals();
//   while (!cli::stop_requested()) serve();
//
// A command that returns after a signal (observe -f, connectivity test)
// rather than a daemon takes the same flag for a scope:
//
//   cli::StopSignalScope scope;  // flag cleared, handlers in place
//   follow(cli::stop_flag());    // Ctrl-C ends it; the caller goes on
#pragma once

#include <signal.h>

#include <atomic>

namespace axon::cli {

// Installs the handlers (idempotent).
void handle_stop_signals();
// The flag the handlers set; request_stop() sets it too (a daemon ending
// for its own reasons stops its other threads the same way).
std::atomic<bool>& stop_flag();
inline bool stop_requested() {
  return stop_flag().load();
}
inline void request_stop() {
  stop_flag().store(true);
}

// SIGINT and SIGTERM set the stop flag while the scope lives (the flag is
// cleared when it begins); the handlers that were there come back when it
// ends. SIGPIPE is left as it is.
class StopSignalScope {
 public:
  StopSignalScope();
  ~StopSignalScope();
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace axon::cli
