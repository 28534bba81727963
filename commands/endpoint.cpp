// axon endpoint list|get: the endpoints each node's agent manages and the
// policy maps it wrote for them, as cilium-dbg's `endpoint list` and
// `bpf policy get` show them, for every node of the lab at once.
#include <algorithm>

#include "axon/client/status.h"
#include "axon/lab/paths.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/output.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;
namespace pb = axon::agent::v1;

struct EndpointParams {
  std::string node;
  std::string ns;
  std::string pod;
  std::vector<std::string> args;
  bool no_headers = false;
};

using client::NodePolicy;

// Asks every node's agent (or one) for its endpoints and their policy maps.
Result<std::vector<NodePolicy>> ask_agents(cli::Context& ctx, const std::string& only) {
  auto agents = cli::lab_agents(ctx, "axon endpoint");
  if (!agents) return agents.error();
  auto out = client::agent_policies(*agents->store, agents->socket_of, only);
  if (out && !only.empty() && out->empty()) return Error{"no node " + only + " in lab " + agents->lab};
  return out;
}

std::string proto_name(uint32_t p) {
  switch (p) {
    case 0: return "ANY";
    case 1: return "ICMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 132: return "SCTP";
    default: return std::to_string(p);
  }
}

std::string port_proto(const pb::PolicyEntry& e) {
  if (e.port_lo() == 0 && e.port_hi() == 0) return e.protocol() == 0 ? "ANY" : "ANY/" + proto_name(e.protocol());
  std::string ports = std::to_string(e.port_lo());
  if (e.port_hi() != e.port_lo()) ports += "-" + std::to_string(e.port_hi());
  return ports + "/" + proto_name(e.protocol());
}

nlohmann::ordered_json to_json(const std::vector<NodePolicy>& nodes, const EndpointParams& p) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& n : nodes) {
    if (!n.response) continue;
    for (const auto& ep : n.response->endpoints()) {
      if (!p.ns.empty() && ep.pod_namespace() != p.ns) continue;
      if (!p.pod.empty() && ep.pod_name() != p.pod) continue;
      nlohmann::ordered_json e = {{"node", n.node},
                                  {"id", ep.endpoint_id()},
                                  {"namespace", ep.pod_namespace()},
                                  {"pod", ep.pod_name()},
                                  {"identity", ep.identity()},
                                  {"ipv4", ep.ip()},
                                  {"ingressEnforced", ep.ingress_enforced()},
                                  {"egressEnforced", ep.egress_enforced()},
                                  {"labels", nlohmann::ordered_json::array()},
                                  {"policy", nlohmann::ordered_json::array()}};
      for (const auto& l : ep.labels()) e["labels"].push_back(l);
      for (const auto& pe : ep.entries()) {
        nlohmann::ordered_json j = {{"direction", pe.direction()}, {"identity", pe.identity()},
                                    {"protocol", pe.protocol()},   {"portLow", pe.port_lo()},
                                    {"portHigh", pe.port_hi()},    {"action", pe.action()},
                                    {"proxyPort", pe.proxy_port()},
                                    {"peerLabels", nlohmann::ordered_json::array()},
                                    {"origins", nlohmann::ordered_json::array()}};
        for (const auto& l : pe.peer_labels()) j["peerLabels"].push_back(l);
        for (const auto& o : pe.origins()) j["origins"].push_back(o);
        e["policy"].push_back(std::move(j));
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

void warn_unanswered(cli::Context& ctx, const std::vector<NodePolicy>& nodes) {
  for (const auto& n : nodes) {
    if (!n.response) ctx.err << "warning: the agent of " << n.node << " does not answer\n";
  }
}

int list(cli::Context& ctx, const EndpointParams& p) {
  auto nodes = ask_agents(ctx, p.node);
  if (!nodes) {
    ctx.err << "Error: " << nodes.error().str() << "\n";
    return cli::kExitFailed;
  }
  warn_unanswered(ctx, *nodes);
  auto format = cli::parse_format(ctx.global.output);
  if (format != cli::Format::table) {
    cli::print_document(ctx.out, format, to_json(*nodes, p));
    return cli::kExitOk;
  }
  cli::Style s(ctx.color());
  cli::Table t(p.no_headers ? std::vector<std::string>{}
                            : std::vector<std::string>{"NODE", "ENDPOINT", "POLICY (ingress)",
                                                       "POLICY (egress)", "IDENTITY",
                                                       "LABELS (source:key[=value])", "IPv4",
                                                       "STATUS"});
  if (!p.no_headers) t.row({"", "", "ENFORCEMENT", "ENFORCEMENT", "", "", "", ""});
  auto on = [&](bool b) { return b ? s.green("Enabled") : std::string("Disabled"); };
  for (const auto& n : *nodes) {
    if (!n.response) continue;
    for (const auto& ep : n.response->endpoints()) {
      if (!p.ns.empty() && ep.pod_namespace() != p.ns) continue;
      std::vector<std::string> labels(ep.labels().begin(), ep.labels().end());
      if (labels.empty()) labels.push_back("");
      t.row({n.node, std::to_string(ep.endpoint_id()), on(ep.ingress_enforced()),
             on(ep.egress_enforced()), std::to_string(ep.identity()), labels[0], ep.ip(),
             "ready"});
      for (size_t i = 1; i < labels.size(); ++i) t.row({"", "", "", "", "", labels[i], "", ""});
    }
  }
  t.print(ctx.out);
  return cli::kExitOk;
}

int get(cli::Context& ctx, EndpointParams p) {
  if (p.args.size() != 1)
    throw cli::UsageError("name one pod: axon endpoint get POD -n NAMESPACE (or NAMESPACE/POD)");
  p.pod = p.args[0];
  if (auto slash = p.pod.find('/'); slash != std::string::npos && p.ns.empty()) {
    p.ns = p.pod.substr(0, slash);
    p.pod = p.pod.substr(slash + 1);
  }
  if (p.ns.empty()) p.ns = "default";
  auto nodes = ask_agents(ctx, p.node);
  if (!nodes) {
    ctx.err << "Error: " << nodes.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto found = to_json(*nodes, p);
  if (found.empty()) {
    warn_unanswered(ctx, *nodes);
    ctx.err << "Error: no endpoint for pod " << p.ns << "/" << p.pod
            << " on any node (a pod with hostNetwork has none)\n";
    return cli::kExitFailed;
  }
  auto format = cli::parse_format(ctx.global.output);
  if (format != cli::Format::table) {
    cli::print_document(ctx.out, format, found[0]);
    return cli::kExitOk;
  }
  const auto& e = found[0];
  ctx.out << "Endpoint " << e["id"].get<uint32_t>() << " of " << p.ns << "/" << p.pod << " on "
          << e["node"].get<std::string>() << ": " << e["ipv4"].get<std::string>() << ", identity "
          << e["identity"].get<uint32_t>() << "\n";
  // A direction out of default deny still drops what its deny entries name.
  auto enforcement = [&](const char* key, const char* direction) -> std::string {
    if (e[key].get<bool>()) return "Enabled";
    size_t denies = 0;
    for (const auto& pe : e["policy"])
      denies += pe["direction"] == direction && pe["action"] != "allow" ? 1 : 0;
    return denies == 0 ? "Disabled (everything allowed)"
                       : "Disabled (everything allowed but its " + std::to_string(denies) +
                             " deny/redirect entries)";
  };
  ctx.out << "Policy enforcement: ingress " << enforcement("ingressEnforced", "ingress")
          << ", egress " << enforcement("egressEnforced", "egress") << "\n\n";
  if (e["policy"].empty()) {
    ctx.out << "No policy entries: no policy selects this endpoint\n";
    return cli::kExitOk;
  }
  cli::Table t({"DIRECTION", "ACTION", "LABELS (source:key[=value])", "PORT/PROTO", "PROXY PORT",
                "FROM RULE"});
  for (const auto& pe : e["policy"]) {
    std::vector<std::string> labels;
    for (const auto& l : pe["peerLabels"]) labels.push_back(l.get<std::string>());
    if (pe["identity"].get<uint32_t>() == 0) labels = {"ANY"};
    if (labels.empty()) labels.push_back("identity " + std::to_string(pe["identity"].get<uint32_t>()));
    std::vector<std::string> origins;
    for (const auto& o : pe["origins"]) origins.push_back(o.get<std::string>());
    pb::PolicyEntry raw;
    raw.set_protocol(pe["protocol"].get<uint32_t>());
    raw.set_port_lo(pe["portLow"].get<uint32_t>());
    raw.set_port_hi(pe["portHigh"].get<uint32_t>());
    const auto rows = std::max(labels.size(), std::max<size_t>(origins.size(), 1));
    for (size_t i = 0; i < rows; ++i) {
      t.row({i == 0 ? pe["direction"].get<std::string>() : "",
             i == 0 ? pe["action"].get<std::string>() : "", i < labels.size() ? labels[i] : "",
             i == 0 ? port_proto(raw) : "",
             i == 0 && pe["proxyPort"].get<uint32_t>() ? std::to_string(pe["proxyPort"].get<uint32_t>()) : "",
             i < origins.size() ? origins[i] : ""});
    }
  }
  t.print(ctx.out);
  return cli::kExitOk;
}

void setup_list(CommandBuilder& b) {
  auto& p = b.params<EndpointParams>();
  b.description(
      "List the endpoints (pods with axon networking) of every node's agent with their identity, "
      "labels and whether policy is enforced in each direction, as cilium-dbg endpoint list "
      "shows them, for all nodes of the lab at once.");
  b.option("--node", p.node, "NODE", "Only this node's agent");
  b.option("-n,--namespace", p.ns, "NAMESPACE", "Only endpoints of pods in this namespace");
  b.flag("--no-headers", p.no_headers, "Do not print headers");
  b.example("axon endpoint list");
  b.example("axon endpoint list --node node2 -o json");
  b.action([&ctx = b.ctx(), &p] { return list(ctx, p); });
}

void setup_get(CommandBuilder& b) {
  auto& p = b.params<EndpointParams>();
  b.description(
      "Show one pod's endpoint and the policy map its agent wrote for it: every entry "
      "(direction, action, peer identity labels, port and protocol, proxy port) and the rules it "
      "comes from, like cilium-dbg bpf policy get with the policy names added.");
  b.positional_list("pod", p.args, "The pod (NAME with -n, or NAMESPACE/NAME)");
  b.option("-n,--namespace", p.ns, "NAMESPACE", "The pod's namespace (default: default)");
  b.option("--node", p.node, "NODE", "Ask only this node's agent");
  b.example("axon endpoint get -n production api-7d9f-x2x");
  b.example("axon endpoint get production/frontend-5c4b-k2k -o yaml");
  b.action([&ctx = b.ctx(), &p] { return get(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(endpoint, {"endpoint", "Endpoints of the agents and their policy", "Commands",
                                 nullptr})
AXON_REGISTER_COMMAND(endpoint_list, {"endpoint list", "List the agents' endpoints", "Commands",
                                      axon::commands::setup_list})
AXON_REGISTER_COMMAND(endpoint_get, {"endpoint get", "Show a pod's endpoint and policy map",
                                     "Commands", axon::commands::setup_get})
