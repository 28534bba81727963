// Running a command inside a lab pod, as `kubectl exec` does: in the pod's
// network, mount and UTS namespaces and its root (so it sees the pod's
// resolv.conf and hostname). `axon lab exec` and `axon connectivity test`
// use it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/lab/paths.h"

namespace axon::lab {

struct ExecResult {
  int code = 0;     // the command's exit code; 128+N when killed by signal N
  std::string out;  // standard output and error, when captured
};

// Runs `argv` (argv[0] "axon" means this binary) in the pod whose uid is
// `pod_uid`. With `capture`, standard output and error are returned;
// otherwise they go to this process's.
Result<ExecResult> exec_in_pod(const LabPaths& paths, const std::string& pod_uid,
                               std::vector<std::string> argv, bool capture);

// The same in a named network namespace of the lab (a node's, the LAN
// client's), without entering a pod's root.
Result<ExecResult> exec_in_netns(const std::string& netns, std::vector<std::string> argv,
                                 bool capture);

// Starts `argv` in the background in a named network namespace (its own
// session, output appended to `log_file`); the caller stops it by pid.
Result<pid_t> spawn_in_netns(const std::string& netns, std::vector<std::string> argv,
                             const std::string& log_file);

}  // namespace axon::lab
