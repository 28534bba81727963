// Filesystems of the lab's nodes and pods, so every node is a host of its
// own and every pod sees what its manifest mounts, exactly as rendered.
//
// A node's view (entered by that node's kubelet): an overlay over the
// machine's root whose writes stay with the node, plus the node's own
//   /run/axon, /opt/cni/bin, /etc/cni/net.d   (under <lab>/nodes/<node>/)
//   /sys/fs/bpf                               (/sys/fs/bpf/axon/<lab>/<node>)
// and the lab directory at its own path (etcd's socket, pod directories).
//
// A pod's root: an overlay over its node's view (writes stay with the pod),
// /proc, /sys, /dev, its volumes bound at their mountPaths (hostPath
// sources are paths of the node's view), its /etc/resolv.conf and hostname.
// Nothing is written to the machine's real filesystem.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/lab/paths.h"

namespace axon::lab {

// Call once, early, in the node's kubelet (already in the node's netns).
Status enter_node_view(const LabPaths& paths, const std::string& node);

struct VolumeMount {
  std::string source;  // a path of the node's view (file or directory)
  std::string target;  // the mountPath in the pod
  bool read_only = false;
};

struct PodLaunch {
  std::string pod_dir;   // holds upper/, work/, root/ (created if missing)
  std::string netns;     // the pod's network namespace; "" = the node's (hostNetwork)
  std::string hostname;  // the pod's name
  std::vector<VolumeMount> mounts;
  std::vector<std::string> shared_paths;  // bound at the same path (the lab directory)
  std::string resolv_conf;                // content of /etc/resolv.conf; "" = the node's
  std::vector<std::string> argv;          // argv[0] "axon" means this binary
  std::map<std::string, std::string> env;
  std::string working_dir;
  std::string log_file;  // stdout and stderr (a path of the node's view)
};

// Starts the pod's process in its own session; returns its pid.
Result<pid_t> start_pod_process(const PodLaunch& launch);

// The kubelet's child-reaping: collects exited children, returns their pids
// with exit statuses.
std::vector<std::pair<pid_t, int>> reap_children();

}  // namespace axon::lab
