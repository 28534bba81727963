// `kubectl port-forward` for the lab: a pod, a Service's or a Deployment's
// ready pod, and the port mappings resolved as kubectl resolves them (a
// Service's port to its targetPort, named ports through the pod's
// containers); then each connection to the machine's loopback is copied
// into the pod's network namespace, to the pod's own loopback port.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/client/cluster_store.h"
#include "axon/lab/paths.h"

namespace axon::lab {

struct PortMapping {
  int local = 0;     // 0: any free port
  int remote = 0;    // as given (a Service's port for svc/)
  int pod_port = 0;  // resolved
  std::string text;  // as given
};

// "[LOCAL:]REMOTE" with ports 1-65535 (LOCAL 0 or empty: any free port);
// nullopt when it is not one.
std::optional<PortMapping> parse_port_mapping(const std::string& text);

struct ForwardTarget {
  std::string ns;
  std::string pod;    // the chosen pod's name
  std::string netns;  // its network namespace, as a path
  std::vector<PortMapping> mappings;  // pod_port resolved
};

// kind: "pod", "svc" or "deploy". An error says what is missing, as a
// sentence for the user ("service production/api has no port 81: ...").
Result<ForwardTarget> resolve_forward(client::ClusterStore& store, const LabPaths& lab,
                                      const std::string& ns, const std::string& kind,
                                      const std::string& name, std::vector<PortMapping> mappings);

// Listens on `address` for each mapping (calling `listening(local port,
// pod port)` once it does) and forwards until `stop` is set, or until the
// pod's network namespace goes away (an error, as kubectl's forward ends).
Status port_forward(const ForwardTarget& target, const std::string& address,
                    const std::function<void(int local, int pod_port)>& listening,
                    const std::atomic<bool>& stop);

}  // namespace axon::lab
