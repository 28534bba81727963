#include "axon/client/installer.h"

#include <algorithm>
#include <thread>

#include "axon/base/strings.h"
#include "axon/client/manifests.h"
#include "axon/client/resources.h"
#include "axon/client/yaml.h"

namespace axon::client {
namespace {

using Clock = std::chrono::steady_clock;

// Kinds `axon install` creates, in apply order (uninstall goes backwards).
const std::vector<std::pair<std::string, std::string>> kManagedKinds = {
    {"apiextensions.k8s.io/v1", "CustomResourceDefinition"},
    {"v1", "ServiceAccount"},
    {"rbac.authorization.k8s.io/v1", "ClusterRole"},
    {"rbac.authorization.k8s.io/v1", "ClusterRoleBinding"},
    {"rbac.authorization.k8s.io/v1", "Role"},
    {"rbac.authorization.k8s.io/v1", "RoleBinding"},
    {"v1", "ConfigMap"},
    {"apps/v1", "DaemonSet"},
    {"apps/v1", "Deployment"},
    {"v1", "Service"},
    {"gateway.networking.k8s.io/v1", "GatewayClass"},
};

const std::string kSelector = std::string(kPartOfLabel) + "=" + kPartOfValue;

// DaemonSets of other CNIs, by name.
const std::vector<std::pair<std::string, std::string>> kOtherCnis = {
    {"kube-flannel-ds", "Flannel"},
    {"kube-flannel", "Flannel"},
    {"flannel", "Flannel"},
    {"calico-node", "Calico"},
    {"cilium", "Cilium"},
    {"weave-net", "Weave Net"},
    {"canal", "Canal"},
    {"kube-router", "kube-router"},
    {"antrea-agent", "Antrea"},
};

int64_t num(const Json& o, const char* a, const char* b) {
  if (!o.contains(a) || !o[a].is_object() || !o[a].contains(b) || !o[a][b].is_number()) return 0;
  return o[a][b].get<int64_t>();
}

// "" when ready, else what is missing ("1/3 ready").
std::string not_ready(const Json& live) {
  const std::string kind = live.value("kind", "");
  const int64_t generation =
      live.contains("metadata") ? live["metadata"].value("generation", int64_t{0}) : 0;
  const int64_t observed = num(live, "status", "observedGeneration");
  if (generation > 0 && observed < generation) return "update not yet observed";
  if (kind == "DaemonSet") {
    int64_t desired = num(live, "status", "desiredNumberScheduled");
    int64_t ready = num(live, "status", "numberReady");
    int64_t updated = num(live, "status", "updatedNumberScheduled");
    if (desired == 0 || ready < desired || updated < desired) {
      return std::to_string(ready) + "/" + std::to_string(desired) + " ready";
    }
    return "";
  }
  int64_t want = live.contains("spec") ? live["spec"].value("replicas", int64_t{1}) : 1;
  int64_t ready = num(live, "status", "readyReplicas");
  int64_t updated = num(live, "status", "updatedReplicas");
  if (ready < want || updated < want)
    return std::to_string(ready) + "/" + std::to_string(want) + " ready";
  return "";
}

}  // namespace

Status Installer::preflight(const InstallValues& values) {
  reporter_.status("preflight: looking for kube-proxy and other CNIs");
  auto daemonsets = store_.list("apps/v1", "DaemonSet", "", "");
  if (!daemonsets) return daemonsets.error();
  std::vector<std::string> problems;
  bool kube_proxy = false;
  for (const auto& ds : *daemonsets) {
    ObjectRef ref = ObjectRef::of(ds);
    if (ref.name == "kube-proxy") {
      kube_proxy = true;
      if (values.kube_proxy_replacement) {
        problems.push_back(
            "kube-proxy is running (DaemonSet " + ref.namespace_ +
            "/kube-proxy), but "
            "kubeProxyReplacement is true: both would program Service traffic. Disable "
            "kube-proxy (Talos: cluster.proxy.disabled: true; `axon install --talos-patch` "
            "prints the patch), or set kubeProxyReplacement: false");
      }
    }
    for (const auto& [name, cni] : kOtherCnis) {
      if (ref.name == name) {
        problems.push_back(
            cni + " is installed (DaemonSet " + ref.namespace_ + "/" + name +
            "): two CNIs "
            "would fight over pod networking. Remove it first (Talos: cluster.network.cni.name: "
            "none; `axon install --talos-patch` prints the patch)");
      }
    }
  }
  if (!problems.empty()) return Error{"preflight failed: " + join(problems, "; ")};
  if (!values.kube_proxy_replacement && !kube_proxy) {
    reporter_.line(
        "warning: no kube-proxy is running and kubeProxyReplacement is false: nothing will serve "
        "Services; set kubeProxyReplacement: true");
  }
  return {};
}

Status Installer::wait_established(const std::vector<Json>& crds,
                                   std::chrono::nanoseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (const auto& crd : crds) {
    ObjectRef ref = ObjectRef::of(crd);
    for (;;) {
      auto live = store_.get(ref);
      if (!live) return live.error();
      bool established = false;
      if (*live && (**live).contains("status") && (**live)["status"].contains("conditions")) {
        for (const auto& c : (**live)["status"]["conditions"]) {
          if (c.value("type", "") == "Established" && c.value("status", "") == "True")
            established = true;
        }
      }
      if (established) break;
      if (Clock::now() >= deadline)
        return Error{ref.str() + " is not established (the API server has not accepted the CRD)"};
      reporter_.status("waiting for " + kubectl_name(ref) + " to be established");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  return {};
}

Status Installer::dry_run(const std::vector<Json>& ordered) {
  // Kinds whose CRDs this install brings: "<plural>.<group>".
  std::vector<std::string> new_crds;
  for (const auto& o : ordered) {
    if (o.value("kind", "") != "CustomResourceDefinition") continue;
    std::string name = member(o, "metadata").value("name", "");
    auto live = store_.get(ObjectRef::of(o));
    if (!live) return live.error();
    if (!*live) new_crds.push_back(name);
  }
  std::vector<std::string> refused;
  for (const auto& o : ordered) {
    ObjectRef ref = ObjectRef::of(o);
    // An object of a kind whose CRD is not in the cluster yet cannot be
    // checked before its CRD is created; the CRD itself is.
    if (auto r = find_resource(ref.api_version, ref.kind);
        r && std::find(new_crds.begin(), new_crds.end(), r->plural + "." + r->group) !=
                 new_crds.end()) {
      continue;
    }
    reporter_.status("checking " + kubectl_name(ref));
    if (auto outcome = store_.dry_run_apply(o); !outcome) {
      refused.push_back(kubectl_name(ref) + ": " + outcome.error().str());
    }
  }
  if (refused.empty()) return {};
  return Error{std::to_string(refused.size()) + " object" + (refused.size() == 1 ? "" : "s") +
               " refused by " + store_.describe() + " (server-side dry run); nothing was "
               "installed:\n  " + join(refused, "\n  ")};
}

Result<InstallCounts> Installer::install(const std::vector<Json>& objects) {
  InstallCounts counts;
  const auto ordered = apply_order(objects);
  // All or nothing: every object is checked before the first is written.
  if (auto st = dry_run(ordered); !st) return st.error();
  std::vector<Json> crds;
  for (const auto& o : ordered) {
    if (o.value("kind", "") == "CustomResourceDefinition") crds.push_back(o);
  }
  bool crds_waited = crds.empty();
  for (const auto& o : ordered) {
    if (!crds_waited && o.value("kind", "") != "CustomResourceDefinition") {
      if (auto st = wait_established(crds, std::chrono::seconds(60)); !st) return st.error();
      crds_waited = true;
    }
    ObjectRef ref = ObjectRef::of(o);
    reporter_.status("applying " + kubectl_name(ref));
    auto outcome = store_.apply(o);
    if (!outcome) return outcome.error();
    switch (*outcome) {
      case ApplyOutcome::created:
        ++counts.created;
        break;
      case ApplyOutcome::configured:
        ++counts.configured;
        break;
      case ApplyOutcome::unchanged:
        ++counts.unchanged;
        break;
    }
    reporter_.line(kubectl_name(ref) + " " + to_string(*outcome));
  }
  if (!crds_waited) {
    if (auto st = wait_established(crds, std::chrono::seconds(60)); !st) return st.error();
  }
  // Prune what an earlier install created and these values no longer want.
  std::vector<ObjectRef> wanted;
  for (const auto& o : objects) wanted.push_back(ObjectRef::of(o));
  auto existing = installed(false);
  if (!existing) return existing.error();
  for (auto it = existing->rbegin(); it != existing->rend(); ++it) {
    ObjectRef ref = ObjectRef::of(*it);
    if (std::find(wanted.begin(), wanted.end(), ref) != wanted.end()) continue;
    reporter_.status("deleting " + kubectl_name(ref));
    auto removed = store_.remove(ref);
    if (!removed) return removed.error();
    if (*removed) {
      ++counts.deleted;
      reporter_.line(kubectl_name(ref) + " deleted (no longer in the values)");
    }
  }
  return counts;
}

Result<std::vector<Json>> Installer::installed(bool with_crds) {
  std::vector<Json> out;
  for (const auto& [api_version, kind] : kManagedKinds) {
    if (kind == "CustomResourceDefinition" && !with_crds) continue;
    auto items = store_.list(api_version, kind, "", kSelector);
    if (!items) return items.error();
    for (auto& i : *items) out.push_back(std::move(i));
  }
  return out;
}

Status Installer::wait_ready(const std::vector<Json>& objects, std::chrono::nanoseconds timeout) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  for (const auto& o : objects) {
    const std::string kind = o.value("kind", "");
    if (kind != "DaemonSet" && kind != "Deployment") continue;
    ObjectRef ref = ObjectRef::of(o);
    for (;;) {
      auto live = store_.get(ref);
      if (!live) return live.error();
      std::string missing = *live ? not_ready(**live) : "not found";
      if (missing.empty()) {
        reporter_.line(kubectl_name(ref) + " ready");
        break;
      }
      auto waited = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count();
      if (Clock::now() >= deadline) {
        return Error{"timed out after " + std::to_string(waited) + "s waiting for " + ref.str() +
                     ": " + missing};
      }
      reporter_.status("waiting for " + ref.str() + ": " + missing + " (" + std::to_string(waited) +
                       "s)");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  return {};
}

Result<InstallCounts> Installer::uninstall(bool delete_crds) {
  InstallCounts counts;
  auto existing = installed(delete_crds);
  if (!existing) return existing.error();
  for (auto it = existing->rbegin(); it != existing->rend(); ++it) {
    ObjectRef ref = ObjectRef::of(*it);
    reporter_.status("deleting " + kubectl_name(ref));
    auto removed = store_.remove(ref);
    if (!removed) return removed.error();
    if (*removed) {
      ++counts.deleted;
      reporter_.line(kubectl_name(ref) + " deleted");
    }
  }
  return counts;
}

}  // namespace axon::client
