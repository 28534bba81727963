// How daemons and long-running commands (agent, relay, ui, port-forward,
// workloads, the lab's kubelets and controller) stop: SIGTERM and SIGINT set
// one process-wide flag that their loops poll, so they can shut down in
// order. SIGPIPE is ignored: a peer that went away is an error return from
// write, not the end of the process.
//
//   cli::handle_stop_signals();
//   while (!cli::stop_requested()) serve();
#pragma once

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

}  // namespace axon::cli
