// The lab's daemons: processes that outlive the command that started
// them, and stopping exactly the processes we started (by pid, checked
// against their command line).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "axon/base/result.h"

namespace axon::lab {

struct DaemonSpec {
  std::vector<std::string> argv;  // argv[0] "axon" means this binary
  std::string log_file;           // stdout and stderr
  std::string pid_file;
  std::string netns;  // run in this network namespace ("" = current)
  std::string cwd;
  std::map<std::string, std::string> env;  // added to the environment
};

// Starts a daemon in its own session; returns its pid (also in pid_file).
Result<pid_t> spawn_daemon(const DaemonSpec& spec);

// The pid in `pid_file` if that process is alive and its command line
// contains `marker` (so a reused pid is never mistaken for ours).
std::optional<pid_t> running_pid(const std::string& pid_file, const std::string& marker);
bool process_matches(pid_t pid, const std::string& marker);

// Pid files hold "<pid> <start time>": the start time (from /proc/<pid>/stat)
// tells our process from a later one that got the same pid.
void write_pid_file(const std::string& path, pid_t pid);
std::optional<pid_t> read_live_pid(const std::string& path);
uint64_t process_start_time(pid_t pid);  // 0 when there is no such process

// SIGTERM, then SIGKILL after `grace`; waits until the process is gone.
void stop_process(pid_t pid, std::chrono::milliseconds grace);

}  // namespace axon::lab
