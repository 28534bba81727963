#include "axon/client/apply.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "axon/base/strings.h"
#include "axon/client/lbipam.h"
#include "axon/gateway/status.h"
#include "axon/client/values.h"

namespace axon::client {
namespace fs = std::filesystem;

namespace {

Diagnostic problem(const std::string& file, int line, std::string message, std::string fix = "") {
  Diagnostic d;
  d.location = SourceLocation{file, line};
  d.message = std::move(message);
  d.fix = std::move(fix);
  return d;
}

bool manifest_extension(const fs::path& p) {
  const std::string ext = to_lower(p.extension().string());
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

void add_documents(ManifestSet& set, const std::string& text, const std::string& file) {
  auto docs = parse_yaml_stream(text, file);
  if (!docs) {
    // Not YAML; JSON that YAML cannot read (tabs in odd places) still is JSON.
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) {
      Diagnostic d;
      d.message = docs.error().message;  // "file:line: invalid YAML: ..."
      d.fix = "check the indentation and quoting around that line";
      set.problems.push_back(std::move(d));
      return;
    }
    YamlDocument doc;
    doc.value = std::move(j);
    doc.line = 1;
    std::vector<YamlDocument> one;
    one.push_back(std::move(doc));
    docs = std::move(one);
  }
  for (auto& d : *docs) {
    auto source = std::make_shared<const YamlDocument>(std::move(d));
    const Json& v = source->value;
    const int document = source->index + 1;
    const bool list = v.is_object() && v.contains("kind") && v["kind"] == "List" &&
                      v.contains("items") && v["items"].is_array();
    if (list) {
      for (size_t i = 0; i < v["items"].size(); ++i) {
        set.objects.push_back(
            ManifestObject{v["items"][i], file, document, child_path("items", i), source});
      }
    } else {
      set.objects.push_back(ManifestObject{v, file, document, "", source});
    }
  }
}

// Helm's install order, for the kinds axon knows; CRDs before Namespaces
// so a CRD's kinds exist before anything else is applied.
int apply_rank(const std::string& kind) {
  static const std::vector<std::string> order = {
      "CustomResourceDefinition",
      "Namespace",
      "NetworkPolicy",
      "ServiceAccount",
      "Secret",
      "ConfigMap",
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "RoleBinding",
      "Service",
      "Endpoints",
      "EndpointSlice",
      "DaemonSet",
      "Pod",
      "Deployment",
  };
  auto it = std::find(order.begin(), order.end(), kind);
  return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
}

std::string kind_of(const ManifestObject& m) {
  return m.object.is_object() && m.object.contains("kind") && m.object["kind"].is_string()
             ? m.object["kind"].get<std::string>()
             : "";
}

}  // namespace

ManifestSet load_manifests(const std::vector<std::string>& sources, bool recursive,
                           std::istream& in) {
  ManifestSet set;
  for (const auto& src : sources) {
    if (src == "-") {
      std::stringstream buf;
      buf << in.rdbuf();
      add_documents(set, buf.str(), "-");
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(src, ec)) {
      std::vector<std::string> files;
      auto collect = [&](const fs::directory_entry& e) {
        if (e.is_regular_file() && manifest_extension(e.path())) files.push_back(e.path().string());
      };
      if (recursive) {
        for (const auto& e : fs::recursive_directory_iterator(src, ec)) collect(e);
      } else {
        for (const auto& e : fs::directory_iterator(src, ec)) collect(e);
      }
      if (ec) {
        set.problems.push_back(problem(src, 0, "cannot read the directory: " + ec.message()));
        continue;
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        set.problems.push_back(problem(src, 0, "no .yaml, .yml or .json files in this directory",
                                       recursive ? "" : "-R also reads its subdirectories"));
      }
      for (const auto& f : files) {
        std::ifstream file(f, std::ios::binary);
        std::stringstream buf;
        buf << file.rdbuf();
        add_documents(set, buf.str(), f);
      }
      continue;
    }
    if (!fs::exists(src, ec)) {
      set.problems.push_back(problem(src, 0, "the path \"" + src + "\" does not exist"));
      continue;
    }
    std::ifstream file(src, std::ios::binary);
    if (!file) {
      set.problems.push_back(problem(src, 0, "cannot read the file: " + sys_error("").str()));
      continue;
    }
    std::stringstream buf;
    buf << file.rdbuf();
    add_documents(set, buf.str(), src);
  }
  return set;
}

ManifestSet load_manifest_text(const std::string& text, const std::string& file) {
  ManifestSet set;
  add_documents(set, text, file);
  return set;
}

std::vector<Diagnostic> validate_manifests(const ValidatorRegistry& validators,
                                           const std::vector<ManifestObject>& objects) {
  std::vector<Diagnostic> out;
  for (const auto& m : objects) {
    auto d = validators.validate(m);
    out.insert(out.end(), std::make_move_iterator(d.begin()), std::make_move_iterator(d.end()));
  }
  return out;
}

std::vector<Diagnostic> check_identities(const std::vector<ManifestObject>& objects) {
  std::vector<Diagnostic> out;
  for (const auto& m : objects) {
    auto d = check_identity(m);
    out.insert(out.end(), std::make_move_iterator(d.begin()), std::make_move_iterator(d.end()));
  }
  return out;
}

std::vector<Diagnostic> assign_namespaces(std::vector<ManifestObject>& objects,
                                          const NamespaceChoice& ns) {
  std::vector<Diagnostic> out;
  std::map<std::string, size_t> first;  // "Kind ns/name" -> index
  for (size_t i = 0; i < objects.size(); ++i) {
    auto& m = objects[i];
    if (!m.object.is_object()) continue;
    ObjectRef ref = ObjectRef::of(m.object);
    auto r = find_resource(ref.api_version, ref.kind);
    if (!r || ref.name.empty()) continue;
    if (r->namespaced) {
      if (ref.namespace_.empty()) {
        m.object["metadata"]["namespace"] = ns.name;
        ref.namespace_ = ns.name;
      } else if (ns.given && ref.namespace_ != ns.name) {
        Diagnostic d;
        d.location = m.where("metadata.namespace");
        d.document = m.document;
        d.object = m.describe();
        d.path = "metadata.namespace";
        d.message = "the namespace from the provided object \"" + ref.namespace_ +
                    "\" does not match the namespace \"" + ns.name + "\" given with -n";
        d.fix = "pass -n " + ref.namespace_ + ", or leave -n out to use each object's own";
        out.push_back(std::move(d));
        continue;
      }
    }
    const std::string key = r->group + "/" + ref.kind + " " + ref.namespace_ + "/" + ref.name;
    auto [it, inserted] = first.emplace(key, i);
    if (!inserted) {
      const auto& earlier = objects[it->second];
      Diagnostic d;
      d.severity = Severity::warning;
      d.location = m.where("metadata.name");
      d.document = m.document;
      d.object = m.describe();
      d.message = "the same object as document " + std::to_string(earlier.document) + " of " +
                  earlier.where("metadata.name").str() +
                  "; both are applied in turn, so this one wins";
      d.fix = "keep one of them";
      out.push_back(std::move(d));
    }
  }
  return out;
}

void sort_for_apply(std::vector<ManifestObject>& objects) {
  std::stable_sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) {
    return apply_rank(kind_of(a)) < apply_rank(kind_of(b));
  });
}

void sort_for_delete(std::vector<ManifestObject>& objects) {
  std::stable_sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) {
    return apply_rank(kind_of(a)) > apply_rank(kind_of(b));
  });
}

Result<std::vector<Diagnostic>> missing_namespaces(ClusterStore& store,
                                                   const std::vector<ManifestObject>& objects) {
  std::set<std::string> created;
  for (const auto& m : objects) {
    ObjectRef ref = ObjectRef::of(m.object);
    if (ref.kind == "Namespace" && ref.api_version == "v1") created.insert(ref.name);
  }
  std::map<std::string, bool> exists;
  std::vector<Diagnostic> out;
  for (const auto& m : objects) {
    ObjectRef ref = ObjectRef::of(m.object);
    auto r = find_resource(ref.api_version, ref.kind);
    if (!r || !r->namespaced || ref.namespace_.empty() || created.count(ref.namespace_)) continue;
    auto it = exists.find(ref.namespace_);
    if (it == exists.end()) {
      auto live = store.get(ObjectRef{"v1", "Namespace", "", ref.namespace_});
      if (!live) return live.error();
      it = exists.emplace(ref.namespace_, live->has_value()).first;
    }
    if (it->second) continue;
    Diagnostic d;
    d.location = m.where("metadata.namespace");
    d.document = m.document;
    d.object = m.describe();
    d.path = "metadata.namespace";
    d.message = "namespaces \"" + ref.namespace_ + "\" not found";
    d.fix = "create the namespace first, or apply a Namespace named " + ref.namespace_ +
            " together with these objects";
    d.command =
        "echo '{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"" +
        ref.namespace_ + "\"}}' | axon apply -f -";
    out.push_back(std::move(d));
  }
  return out;
}

namespace {

// Pod specs of a workload object: Pod spec, or its template's.
const Json* pod_spec_of(const Json& o) {
  const std::string kind = o.value("kind", "");
  if (kind == "Pod") return &member(o, "spec");
  if (kind == "Deployment" || kind == "DaemonSet" || kind == "StatefulSet" ||
      kind == "ReplicaSet" || kind == "Job")
    return &member(member(member(o, "spec"), "template"), "spec");
  return nullptr;
}

}  // namespace

Result<std::pair<int, int>> cluster_node_port_range(ClusterStore& store) {
  auto maps = store.list("v1", "ConfigMap", "", "");
  if (!maps) return maps.error();
  for (const auto& cm : *maps) {
    if (member(cm, "metadata").value("name", "") != "axon-config") continue;
    const Json& range = member(member(cm, "data"), "node-port-range");
    if (!range.is_string()) continue;
    if (auto r = parse_node_port_range(range.get<std::string>())) return *r;
  }
  return std::pair{30000, 32767};
}

Result<std::vector<Diagnostic>> node_port_problems(ClusterStore& store,
                                                   const std::vector<ManifestObject>& objects) {
  std::vector<Diagnostic> out;
  bool any = false;
  for (const auto& m : objects) {
    const std::string kind = m.object.value("kind", "");
    any |= kind == "Service" || pod_spec_of(m.object) != nullptr;
  }
  if (!any) return out;
  auto range = cluster_node_port_range(store);
  if (!range) return range.error();
  const auto [first, last] = *range;
  const std::string range_text = std::to_string(first) + "-" + std::to_string(last);
  auto diag = [&](const ManifestObject& m, const std::string& path, Severity sev,
                  std::string message, std::string fix) {
    Diagnostic d;
    d.severity = sev;
    d.location = m.where(path);
    d.document = m.document;
    d.object = m.describe();
    d.path = path;
    d.message = std::move(message);
    d.fix = std::move(fix);
    out.push_back(std::move(d));
  };
  // Who holds each NodePort (port/protocol) now: "namespace/name".
  std::map<std::string, std::string> held;
  auto key_of = [](int64_t port, const Json& p) {
    return std::to_string(port) + "/" + p.value("protocol", "TCP");
  };
  auto live = store.list("v1", "Service", "", "");
  if (!live) return live.error();
  for (const auto& s : *live) {
    const std::string who = member(s, "metadata").value("namespace", "") + "/" +
                            member(s, "metadata").value("name", "");
    for (const auto& p : member(member(s, "spec"), "ports")) {
      if (p.is_object() && p.value("nodePort", 0) != 0) held[key_of(p.value("nodePort", 0), p)] = who;
    }
  }
  std::map<std::string, std::string> asked;  // by Services of this set
  for (const auto& m : objects) {
    const Json& o = m.object;
    if (o.value("kind", "") == "Service" && o.value("apiVersion", "") == "v1") {
      const std::string who = member(o, "metadata").value("namespace", "") + "/" +
                              member(o, "metadata").value("name", "");
      const Json& ports = member(member(o, "spec"), "ports");
      for (size_t i = 0; ports.is_array() && i < ports.size(); ++i) {
        const Json& p = ports[i];
        if (!p.is_object() || !p.contains("nodePort") || !p["nodePort"].is_number_integer())
          continue;
        const int64_t np = p["nodePort"].get<int64_t>();
        if (np == 0) continue;
        const std::string path = "spec.ports[" + std::to_string(i) + "].nodePort";
        if (np < first || np > last) {
          diag(m, path, Severity::error,
               "nodePort " + std::to_string(np) + " is outside the cluster's NodePort range " +
                   range_text,
               "choose a port from " + range_text + ", or remove nodePort to be given a free one");
          continue;
        }
        const std::string k = key_of(np, p);
        if (auto h = held.find(k); h != held.end() && h->second != who) {
          diag(m, path, Severity::error,
               "nodePort " + k + " is already allocated to Service " + h->second,
               "choose another port from " + range_text +
                   ", or remove nodePort to be given a free one");
        } else if (auto a = asked.find(k); a != asked.end() && a->second != who) {
          diag(m, path, Severity::error,
               "nodePort " + k + " is also asked for by Service " + a->second + " in these files",
               "give each Service its own nodePort, or remove nodePort to be given a free one");
        } else {
          asked[k] = who;
        }
      }
    }
    if (const Json* spec = pod_spec_of(o)) {
      const std::string base = o.value("kind", "") == "Pod" ? "spec" : "spec.template.spec";
      const Json& containers = member(*spec, "containers");
      for (size_t c = 0; containers.is_array() && c < containers.size(); ++c) {
        const Json& ports = member(containers[c], "ports");
        for (size_t i = 0; ports.is_array() && i < ports.size(); ++i) {
          const Json& hp = member(ports[i], "hostPort");
          if (!hp.is_number_integer()) continue;
          const int64_t port = hp.get<int64_t>();
          if (port < first || port > last) continue;
          diag(m,
               base + ".containers[" + std::to_string(c) + "].ports[" + std::to_string(i) +
                   "].hostPort",
               Severity::warning,
               "hostPort " + std::to_string(port) + " is inside the NodePort range " + range_text +
                   ": a NodePort Service may be given the same port on every node",
               "choose a hostPort outside " + range_text);
        }
      }
    }
  }
  return out;
}

// The store's objects of a kind with the set's copies in place of theirs
// (by namespace/name), `from_set` applied to those copies. When the store
// cannot list the kind (one it does not serve, no CRDs yet, included): the
// set's alone, and the error in `listed`.
std::vector<Json> with_set(ClusterStore& store, const std::string& api_version, const std::string& kind,
                           const std::vector<ManifestObject>& objects,
                           const std::function<void(Json&)>& from_set = {}, Status* listed = nullptr) {
  auto key_of = [](const Json& o) {
    return member(o, "metadata").value("namespace", "") + "/" + member(o, "metadata").value("name", "");
  };
  std::map<std::string, Json> by_key;
  auto live = store.list(api_version, kind, "", "");
  if (live) {
    for (auto& o : *live) {
      if (!o.is_object()) continue;
      o["kind"] = kind;             // a list's items may leave it out
      std::string key = key_of(o);  // first: Json's assignment takes its right side by value
      by_key[key] = std::move(o);
    }
  }
  for (const auto& m : objects) {
    if (m.object.value("kind", "") != kind) continue;
    Json o = m.object;
    if (from_set) from_set(o);
    std::string key = key_of(o);  // first: Json's assignment takes its right side by value
    by_key[key] = std::move(o);
  }
  std::vector<Json> out;
  for (auto& [k, o] : by_key) out.push_back(std::move(o));
  if (!live && listed) *listed = live.error();
  return out;
}

Result<std::vector<Diagnostic>> lb_ipam_problems(ClusterStore& store,
                                                 const std::vector<ManifestObject>& objects) {
  std::vector<Diagnostic> out;
  auto key_of = [](const Json& o) {
    return member(o, "metadata").value("namespace", "") + "/" + member(o, "metadata").value("name", "");
  };
  std::map<std::string, const ManifestObject*> mine;  // LoadBalancer Services of the set
  for (const auto& m : objects)
    if (m.object.value("kind", "") == "Service" && lbipam_manages(m.object)) mine[key_of(m.object)] = &m;
  if (mine.empty()) return out;
  // Every pool, whichever version it was written in (v2alpha1 is served as
  // v2); a kind not served (no CRDs yet): the set's pools alone.
  const auto pools = with_set(store, "cilium.io/v2", "CiliumLoadBalancerIPPool", objects);
  Status listed;
  const auto services = with_set(
      store, "v1", "Service", objects,
      [](Json& s) {
        if (!member(s, "metadata").contains("creationTimestamp"))
          s["metadata"]["creationTimestamp"] = "9999-12-31T23:59:59Z";  // newer than all
      },
      &listed);
  if (!listed) return listed.error();
  const LbIpamState state = lbipam_allocate(pools, services);
  for (const auto& [k, m] : mine) {
    auto it = state.services.find(k);
    if (it == state.services.end()) continue;
    const LbIpamService& r = it->second;
    const bool requested = !member(member(m->object, "metadata"), "annotations").empty() ||
                           member(m->object, "spec").contains("loadBalancerIP");
    std::string message, fix;
    if (r.reason == "pool_selector_mismatch" || r.reason == "already_allocated" ||
        r.reason == "already_allocated_incompatible_service" ||
        (r.reason == "no_pool" && requested && r.message.starts_with("requested"))) {
      message = "LB IPAM will leave it pending (" + r.reason + "): " + r.message;
      fix = r.reason == "no_pool" ? "request an address inside a pool, or add a pool that holds it"
                                  : "request another address, or remove the request to be given one";
    } else if (!r.not_shared.empty()) {
      message = "its sharing key finds no Service it may share an address with: " + r.not_shared +
                "; it gets an address of its own";
      fix = "give the Services different ports (and the same externalTrafficPolicy), or drop "
            "the sharing key";
    } else {
      continue;
    }
    Diagnostic d;
    d.severity = Severity::warning;
    d.location = m->where("metadata.annotations");
    d.document = m->document;
    d.object = m->describe();
    d.path = "metadata.annotations";
    d.message = std::move(message);
    d.fix = std::move(fix);
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<Diagnostic>> gateway_problems(ClusterStore& store,
                                                 const std::vector<ManifestObject>& objects) {
  std::vector<Diagnostic> out;
  auto text = [](const Json& o, const char* key) {
    const Json& v = member(o, key);
    return v.is_string() ? v.get<std::string>() : std::string();
  };
  auto key_of = [&](const Json& o) {
    return text(o, "kind") + " " + text(member(o, "metadata"), "namespace") + "/" +
           text(member(o, "metadata"), "name");
  };
  std::map<std::string, const ManifestObject*> routes;  // the set's, by "Kind ns/name"
  for (const auto& m : objects) {
    const std::string kind = m.object.value("kind", "");
    if (kind == "HTTPRoute" || kind == "GRPCRoute" || kind == "TCPRoute" || kind == "TLSRoute")
      routes[key_of(m.object)] = &m;
  }
  if (routes.empty()) return out;
  // The store's objects with the set's in place of theirs; a kind the store
  // does not serve (no CRDs yet) has none there.
  auto merged = [&](const std::string& api_version, const std::string& kind, std::vector<Json>& into) {
    for (auto& o : with_set(store, api_version, kind, objects)) into.push_back(std::move(o));
  };
  gateway::GatewayInputs in;
  merged("gateway.networking.k8s.io/v1", "GatewayClass", in.classes);
  merged("gateway.networking.k8s.io/v1", "Gateway", in.gateways);
  merged("gateway.networking.k8s.io/v1", "HTTPRoute", in.routes);
  merged("gateway.networking.k8s.io/v1", "GRPCRoute", in.routes);
  merged("gateway.networking.k8s.io/v1alpha2", "TCPRoute", in.routes);
  merged("gateway.networking.k8s.io/v1alpha2", "TLSRoute", in.routes);
  merged("gateway.networking.k8s.io/v1beta1", "ReferenceGrant", in.grants);
  merged("v1", "Service", in.services);
  const auto state = gateway::gateway_compute(in);
  for (const auto& w : state.warnings) {
    auto it = routes.find(w.route);
    if (it == routes.end()) continue;
    const ManifestObject& m = *it->second;
    Diagnostic d;
    d.severity = Severity::warning;
    d.location = m.where(w.path);
    d.document = m.document;
    d.object = m.describe();
    d.path = w.path;
    d.message = w.message + (w.route.rfind("TCPRoute ", 0) == 0 || w.route.rfind("TLSRoute ", 0) == 0
                                 ? ": connections routed to it will be refused (reset)"
                                 : ": requests routed to it will get 500");
    d.fix = "point the backendRef at a Service and port of that namespace (see `axon get services`)";
    out.push_back(std::move(d));
  }
  return out;
}

Result<ApplyOutcome> preview_apply(ClusterStore& store, const Json& object) {
  auto live = store.get(ObjectRef::of(object));
  if (!live) return live.error();
  if (!live->has_value()) return ApplyOutcome::created;
  return apply_outcome(**live, object);
}

}  // namespace axon::client
