// axon policy trace: would traffic from a source to a destination on a
// port pass? Both ends are traced, the source's egress and the
// destination's ingress, like `cilium policy trace`.
#include <memory>
#include <tuple>

#include "axon/base/strings.h"
#include "axon/policy/decode.h"
#include "axon/policy/evaluate.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/output.h"
#include "axon/base/files.h"
#include "axon/client/policies.h"
#include "cli/diagnostics.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;
namespace pol = axon::policy;

struct TraceParams {
  std::vector<std::string> files;
  std::vector<std::string> src, dst;
  std::string src_pod, dst_pod;
  std::string dport;
};

// The labels as given (printed back as they are); policy sees them with the
// namespace's own name label added (with_namespace_name_label).
pol::LabelSet parse_side(const std::vector<std::string>& parts, const char* flag) {
  pol::LabelSet out;
  for (const auto& part : parts) {
    auto l = pol::parse_labels(part, pol::kSourceK8s);
    if (!l) throw cli::UsageError(std::string(flag) + ": " + l.error().message);
    for (const auto& x : l->labels()) out.add(x);
  }
  return out;
}

std::string bracket(const pol::LabelSet& l) { return "[" + pol::to_string(l) + "]"; }

std::string verdict_word(const pol::DirectionVerdict& v) {
  if (!v.allowed) return "DENIED";
  if (!v.redirected) return "ALLOWED";
  return "ALLOWED (to the " + std::string(pol::l7_name(v.l7)) + " proxy" +
         (v.l7_allow_all ? ", which lets every request through: an L4-only rule allows it too)"
                         : ", which applies the L7 rules)");
}

void print_direction(std::ostream& out, const pol::DirectionVerdict& v, const pol::LabelSet& who) {
  const char* dir = v.direction == pol::Direction::ingress ? "ingress" : "egress";
  out << "Resolving " << dir << " policy for " << bracket(who) << "\n";
  size_t selected = 0;
  for (const auto& r : v.rules) {
    std::string name = pol::describe(r.origin.kind, r.origin.ns, r.origin.name) + " " +
                       r.origin.rule_path;
    if (!r.selected) {
      out << "  " << name << ": not selected (endpointSelector " << r.subject << ")\n";
      continue;
    }
    ++selected;
    out << "* " << name << ": selected" << (r.default_deny ? std::string(", default deny ") + dir : "")
        << "\n";
    for (const auto& e : r.elements) {
      out << "    " << pol::field_path(e.origin) << (e.deny ? " (deny)" : "") << ": " << e.peers
          << "; " << e.ports << ": ";
      if (e.matched) {
        out << (e.deny ? "matches: DENIES" : "matches: allows");
        if (e.l7 != pol::L7Kind::none) out << " (" << pol::l7_name(e.l7) << " rules apply)";
      } else if (!e.peer_matches) {
        out << "peer does not match";
      } else if (!e.port_matches) {
        out << "port does not match";
      } else {
        out << "peer misses a requirement";
      }
      out << "\n";
    }
  }
  out << selected << "/" << v.rules.size() << " rules selected\n";
  for (const auto& r : v.requirements) out << "Requirement on every peer: " << r << "\n";
  std::string cap = dir;
  cap[0] = static_cast<char>(std::toupper(cap[0]));
  if (!v.selected) {
    out << "No policy selects " << bracket(who) << ": all " << dir << " allowed\n";
  } else if (!v.decided_by.empty()) {
    std::vector<std::string> by;
    for (const auto& o : v.decided_by) by.push_back(pol::to_string(o));
    out << (v.allowed ? "Allowed by " : "Denied by ") << join(by, ", ") << "\n";
  } else if (v.localhost) {
    out << "No rule allows it, but the node may always reach its pods (allow-localhost); "
           "only a deny rule stops it\n";
  } else if (v.enforced) {
    std::vector<std::string> by;
    for (const auto& o : v.default_deny_by) by.push_back(pol::to_string(o));
    out << "No rule allows it; default deny from " << join(by, ", ") << "\n";
  } else {
    out << "No rule puts " << bracket(who) << " into default deny for " << dir
        << ": allowed\n";
  }
  out << cap << " verdict: " << verdict_word(v) << "\n";
}

nlohmann::ordered_json origin_json(const pol::RuleOrigin& o) {
  return {{"kind", std::string(pol::kind_name(o.kind))},
          {"namespace", o.ns},
          {"name", o.name},
          {"path", pol::field_path(o)}};
}

nlohmann::ordered_json direction_json(const pol::DirectionVerdict& v) {
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  for (const auto& r : v.rules) {
    nlohmann::ordered_json j = {
        {"policy", pol::describe(r.origin.kind, r.origin.ns, r.origin.name)},
        {"rule", r.origin.rule_path},
        {"endpointSelector", r.subject},
        {"selected", r.selected},
        {"defaultDeny", r.default_deny},
        {"elements", nlohmann::ordered_json::array()},
    };
    for (const auto& e : r.elements) {
      j["elements"].push_back({{"path", pol::field_path(e.origin)},
                               {"deny", e.deny},
                               {"peers", e.peers},
                               {"ports", e.ports},
                               {"peerMatches", e.peer_matches},
                               {"portMatches", e.port_matches},
                               {"requirementsMet", e.requirements_met},
                               {"matched", e.matched},
                               {"l7", std::string(pol::l7_name(e.l7))}});
    }
    rules.push_back(std::move(j));
  }
  nlohmann::ordered_json decided = nlohmann::ordered_json::array();
  for (const auto& o : v.decided_by) decided.push_back(origin_json(o));
  nlohmann::ordered_json dd = nlohmann::ordered_json::array();
  for (const auto& o : v.default_deny_by) dd.push_back(origin_json(o));
  return {{"verdict", v.allowed ? "ALLOWED" : "DENIED"},
          {"redirected", v.redirected},
          {"l7", std::string(pol::l7_name(v.l7))},
          {"l7AllowAll", v.l7_allow_all},
          {"selected", v.selected},
          {"defaultDeny", v.enforced},
          {"defaultDenyBy", dd},
          {"decidedBy", decided},
          {"requirements", v.requirements},
          {"rules", rules}};
}

int run(cli::Context& ctx, const TraceParams& p) {
  if (!p.src.empty() && !p.src_pod.empty()) throw cli::UsageError("give -s or --src-pod, not both");
  if (!p.dst.empty() && !p.dst_pod.empty()) throw cli::UsageError("give -d or --dst-pod, not both");
  if (p.src.empty() && p.src_pod.empty()) {
    throw cli::UsageError("policy trace needs the source: -s LABELS or --src-pod NS/POD");
  }
  if (p.dst.empty() && p.dst_pod.empty()) {
    throw cli::UsageError("policy trace needs the destination: -d LABELS or --dst-pod NS/POD");
  }
  if (p.dport.empty()) throw cli::UsageError("policy trace needs --dport PORT/PROTOCOL (8080/TCP)");
  auto flow = pol::parse_flow(p.dport);
  if (!flow) throw cli::UsageError("--dport: " + flow.error().message);
  pol::LabelSet src_labels = p.src.empty() ? pol::LabelSet{} : parse_side(p.src, "--src");
  pol::LabelSet dst_labels = p.dst.empty() ? pol::LabelSet{} : parse_side(p.dst, "--dst");
  pol::NamedPorts src_ports, dst_ports;
  for (const auto* pod : {&p.src_pod, &p.dst_pod}) {
    if (!pod->empty() && !client::split_namespaced(*pod)) {
      throw cli::UsageError("\"" + *pod + "\": name the pod as NAMESPACE/POD");
    }
  }

  // The cluster, for pods and for policies when no file is given.
  std::unique_ptr<client::ClusterStore> store;
  if (!p.src_pod.empty() || !p.dst_pod.empty() || p.files.empty()) {
    auto s = cli::connect_cluster(ctx);
    if (!s) {
      ctx.err << "Error: " << s.error().str()
              << (p.files.empty() ? " (or trace policy files offline with -f)" : "") << "\n";
      return cli::kExitFailed;
    }
    store = std::move(*s);
  }
  for (auto [pod, labels, ports] : {std::tuple{&p.src_pod, &src_labels, &src_ports},
                                    std::tuple{&p.dst_pod, &dst_labels, &dst_ports}}) {
    if (pod->empty()) continue;
    auto name = client::split_namespaced(*pod);
    auto sp = client::store_pod(*store, name->first, name->second);
    if (!sp) {
      ctx.err << "Error: " << sp.error().str() << "\n";
      return cli::kExitFailed;
    }
    *labels = sp->labels;
    *ports = sp->named_ports;
  }

  std::vector<pol::Policy> policies;
  std::vector<std::string> ignored;
  if (p.files.empty()) {
    auto listed = client::store_policies(*store, "");
    if (!listed) {
      ctx.err << "Error: " << listed.error().str() << "\n";
      return cli::kExitFailed;
    }
    for (auto& sp : *listed) {
      if (sp.policy) {
        policies.push_back(std::move(*sp.policy));
        continue;
      }
      ignored.push_back(pol::describe(sp.kind, sp.ns, sp.name) +
                        " in the store: invalid, so not enforced, as in Cilium; see axon policy get");
    }
  }
  auto read = read_manifest_files(p.files);
  if (!read) throw cli::UsageError(read.error().message);
  const auto& inputs = *read;
  for (const auto& in : inputs) {
    auto loaded = pol::load_documents(in.text, in.path);
    for (const auto& pr : loaded.problems) ignored.push_back(pr.one_line());
    for (const auto& doc : loaded.documents) {
      auto d = pol::decode_policy(doc);
      if (!d.is_policy) continue;
      if (d.policy) {
        policies.push_back(std::move(*d.policy));
        continue;
      }
      size_t errors = count(d.problems, Severity::error);
      ignored.push_back(in.path + ": document " + std::to_string(doc.index) + " (" + d.object +
                        "): invalid (" + std::to_string(errors) + " error" +
                        (errors == 1 ? "" : "s") +
                        "), so not enforced, as in Cilium; see axon policy validate -f " + in.path);
    }
  }
  for (const auto& i : ignored) ctx.err << "warning: " << i << "\n";

  pol::InMemoryIdentityAllocator ids;
  auto peer = [&](const pol::LabelSet& labels) {
    auto id = ids.allocate(labels);
    return pol::Peer{id ? *id : pol::Identity{0, labels}, {}};
  };
  pol::Peer src = peer(pol::with_namespace_name_label(src_labels));
  pol::Peer dst = peer(pol::with_namespace_name_label(dst_labels));
  src.named_ports = src_ports;
  dst.named_ports = dst_ports;
  auto t = pol::trace(policies, src, dst, *flow);

  auto format = cli::parse_format(ctx.global.output);
  if (format != cli::Format::table) {
    nlohmann::ordered_json out = {
        {"src", {{"labels", pol::to_string(src_labels, ",")}, {"identity", src.identity.id}}},
        {"dst", {{"labels", pol::to_string(dst_labels, ",")}, {"identity", dst.identity.id}}},
        {"port", pol::to_string(*flow)},
        {"egress", direction_json(t.egress)},
        {"ingress", direction_json(t.ingress)},
        {"ignored", ignored},
        {"verdict", t.allowed ? "ALLOWED" : "DENIED"},
    };
    cli::print_document(ctx.out, format, out);
    return cli::kExitOk;
  }
  auto& out = ctx.out;
  out << std::string(64, '-') << "\n";
  out << "Tracing From: " << bracket(src_labels) << " => To: " << bracket(dst_labels)
      << " Ports: [" << pol::to_string(*flow) << "]\n\n";
  print_direction(out, t.egress, src_labels);
  out << "\n";
  print_direction(out, t.ingress, dst_labels);
  out << "\n";
  if (!t.allowed) {
    std::vector<std::string> ends;
    if (!t.egress.allowed) ends.push_back("the source's egress");
    if (!t.ingress.allowed) ends.push_back("the destination's ingress");
    out << "Denied at " << join(ends, " and ") << "\n";
  }
  cli::Style s(ctx.color());
  out << "Final verdict: " << (t.allowed ? s.green("ALLOWED") : s.red("DENIED")) << "\n";
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<TraceParams>();
  b.description(
      "Trace whether traffic from a source to a destination on a port would pass, rule by rule. "
      "Traffic passes only if the source's egress and the destination's ingress both allow it, "
      "so both are resolved: which rules select each end, which element matches, what decided "
      "(a deny rule, an allow rule, default deny), and a last line `Final verdict: ALLOWED` or "
      "`Final verdict: DENIED`.\n"
      "\n"
      "Endpoints are given by their labels as Cilium writes them, comma-separated "
      "(k8s:role=frontend,k8s:io.kubernetes.pod.namespace=production; a label without a source "
      "is k8s:); reserved:world or cidr:203.0.113.7/32 name addresses outside the cluster. "
      "--src-pod/--dst-pod take a pod's labels (with its namespace's labels and its named ports) "
      "from the cluster store. Policies come from -f files, or from the store when no file is "
      "given; invalid ones are not enforced, as in Cilium.");
  b.group("Endpoints");
  b.list("-s,--src", p.src, "LABELS", "Labels of the source (comma-separated, repeatable)");
  b.list("-d,--dst", p.dst, "LABELS", "Labels of the destination (comma-separated, repeatable)");
  b.option("--src-pod", p.src_pod, "NS/POD", "Source pod in the cluster (its labels, from the store)");
  b.option("--dst-pod", p.dst_pod, "NS/POD",
           "Destination pod in the cluster (its labels and named ports, from the store)");
  b.option("--dport", p.dport, "PORT/PROTO", "Destination port and protocol: 8080/TCP, 53/UDP, 8/ICMP");
  b.group("Policies");
  b.files("-f,--file", p.files,
          "Policy manifest, or a directory of them (repeatable; default: the cluster's policies)");
  b.example(
      "axon policy trace -f policies/ -s k8s:role=frontend,k8s:io.kubernetes.pod.namespace=production "
      "-d k8s:role=api,k8s:io.kubernetes.pod.namespace=production --dport 8080/TCP");
  b.example("axon policy trace -f policies/ -s role=api,io.kubernetes.pod.namespace=production "
            "-d reserved:world --dport 443/TCP -o json");
  b.example("axon policy trace --src-pod production/frontend --dst-pod production/api --dport 8080/TCP");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(policy_trace, {"policy trace", "Trace the policy verdict between two endpoints",
                                     "Commands", axon::commands::setup})
