#include "axon/lab/port_forward.h"

#include <unistd.h>

#include <thread>

#include "axon/client/endpointslices.h"
#include "axon/hubble/forwarder.h"

namespace axon::lab {
namespace {

using namespace std::chrono_literals;
using client::Json;

bool pod_ready(const Json& pod) {
  if (!client::member(client::member(pod, "status"), "podIP").is_string()) return false;
  for (const auto& c : client::member(client::member(pod, "status"), "conditions")) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

// A container port of `pod` named `name`, or 0.
int named_container_port(const Json& pod, const std::string& name) {
  for (const auto& c : client::member(client::member(pod, "spec"), "containers")) {
    for (const auto& port : client::member(c, "ports")) {
      if (port.value("name", "") == name) return port.value("containerPort", 0);
    }
  }
  return 0;
}

}  // namespace

std::optional<PortMapping> parse_port_mapping(const std::string& text) {
  PortMapping m;
  m.text = text;
  auto colon = text.find(':');
  auto number = [&](const std::string& s, bool zero_ok) -> std::optional<int> {
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(s) > 65535 || (!zero_ok && std::stoi(s) == 0)) {
      return std::nullopt;
    }
    return std::stoi(s);
  };
  std::optional<int> local, remote;
  if (colon == std::string::npos) {
    remote = number(text, false);
    local = remote;
  } else {
    local = colon == 0 ? std::optional<int>(0) : number(text.substr(0, colon), true);
    remote = number(text.substr(colon + 1), false);
  }
  if (!local || !remote) return std::nullopt;
  m.local = *local;
  m.remote = *remote;
  return m;
}

Result<ForwardTarget> resolve_forward(client::ClusterStore& store, const LabPaths& lab,
                                      const std::string& ns, const std::string& kind,
                                      const std::string& name, std::vector<PortMapping> mappings) {
  // The pod, and for a Service the port -> targetPort mapping.
  Json pod;
  Json service;
  if (kind == "pod") {
    auto got = store.get(client::ObjectRef{"v1", "Pod", ns, name});
    if (!got || !*got) return Error{"pod " + ns + "/" + name + " not found"};
    pod = **got;
    if (!pod_ready(pod)) return Error{"pod " + ns + "/" + name + " is not running and ready"};
  } else {
    Json selector;
    if (kind == "svc") {
      auto got = store.get(client::ObjectRef{"v1", "Service", ns, name});
      if (!got || !*got) return Error{"service " + ns + "/" + name + " not found"};
      service = **got;
      selector = client::member(client::member(service, "spec"), "selector");
    } else {
      auto got = store.get(client::ObjectRef{"apps/v1", "Deployment", ns, name});
      if (!got || !*got) return Error{"deployment " + ns + "/" + name + " not found"};
      selector = client::member(
          client::member(client::member((**got), "spec"), "selector"), "matchLabels");
    }
    if (!selector.is_object() || selector.empty()) {
      return Error{kind + " " + ns + "/" + name +
                   " has no selector: forward to one of its pods with pod/NAME"};
    }
    auto pods = store.list("v1", "Pod", ns, "");
    if (!pods) return pods.error();
    for (const auto& candidate : *pods) {
      if (pod_ready(candidate) &&
          client::map_selector_matches(selector, client::member(candidate["metadata"], "labels"))) {
        pod = candidate;
        break;
      }
    }
    if (pod.is_null()) {
      return Error{kind + " " + ns + "/" + name + " has no running and ready pod to forward to"};
    }
  }
  for (auto& m : mappings) {
    m.pod_port = m.remote;
    if (service.is_null()) continue;
    bool found = false;
    for (const auto& sp : client::member(service["spec"], "ports")) {
      if (sp.value("port", 0) != m.remote) continue;
      found = true;
      const auto& tp = client::member(sp, "targetPort");
      if (tp.is_number_integer()) {
        m.pod_port = tp.get<int>();
      } else if (tp.is_string()) {
        m.pod_port = named_container_port(pod, tp.get<std::string>());
        if (m.pod_port == 0) {
          return Error{"service " + ns + "/" + name + " port " + std::to_string(m.remote) +
                       ": targetPort \"" + tp.get<std::string>() + "\" names no port of pod " +
                       pod["metadata"].value("name", "")};
        }
      }
    }
    if (!found) {
      return Error{"service " + ns + "/" + name + " has no port " + std::to_string(m.remote) +
                   ": see `axon get svc " + name + " -n " + ns + "`"};
    }
  }
  ForwardTarget t;
  t.ns = ns;
  t.pod = pod["metadata"].value("name", "");
  t.netns = "/run/netns/" + lab.pod_netns(pod["metadata"].value("uid", ""));
  t.mappings = std::move(mappings);
  return t;
}

Status port_forward(const ForwardTarget& t, const std::string& address,
                    const std::function<void(int local, int pod_port)>& listening,
                    const std::atomic<bool>& stop) {
  std::vector<std::unique_ptr<hubble::SocketForwarder>> forwarders;
  auto stop_all = [&] {
    for (auto& f : forwarders) f->stop();
  };
  for (const auto& m : t.mappings) {
    auto f = hubble::SocketForwarder::start_tcp(address + ":" + std::to_string(m.local),
                                                "127.0.0.1:" + std::to_string(m.pod_port), t.netns);
    if (!f) {
      stop_all();
      return f.error();
    }
    listening((*f)->port(), m.pod_port);
    forwarders.push_back(std::move(*f));
  }
  while (!stop.load()) {
    std::this_thread::sleep_for(200ms);
    // The pod went away: so does the forward, as kubectl's does.
    if (::access(t.netns.c_str(), F_OK) != 0) {
      stop_all();
      return Error{"pod " + t.ns + "/" + t.pod + " is gone"};
    }
  }
  stop_all();
  return {};
}

}  // namespace axon::lab
