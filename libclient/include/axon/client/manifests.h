// The Kubernetes objects `axon install` creates, rendered from resolved
// values. Deterministic: the same values always give the same bytes.
#pragma once

#include <string>
#include <vector>

#include "axon/client/values.h"
#include "axon/client/yaml.h"

namespace axon::client {

// Every object carries this label; `axon uninstall` removes exactly those.
inline constexpr const char* kPartOfLabel = "app.kubernetes.io/part-of";
inline constexpr const char* kPartOfValue = "axon";

struct RenderOptions {
  std::string namespace_ = "kube-system";
};

// In the order `--dry-run` prints them: ServiceAccounts, ClusterRoles,
// ClusterRoleBindings, the ConfigMap, the agent DaemonSet, the operator
// Deployment, Hubble relay and UI (Deployment + Service each), the
// GatewayClass, then the CustomResourceDefinitions.
std::vector<Json> render_manifests(const InstallValues& values, const RenderOptions& options);

// The same objects in the order they can be applied: CRDs first (they must
// be established before objects of their kinds), then the rest.
std::vector<Json> apply_order(std::vector<Json> objects);

// The CustomResourceDefinitions of every custom kind axon serves (the
// Gateway API ones only when `gateway_api`), each with a structural schema.
std::vector<Json> custom_resource_definitions(bool gateway_api);

// The cilium-config-style keys of the agent ConfigMap.
Json agent_config(const InstallValues& values);

// The Talos machine-config patch axon needs: no bundled CNI, no kube-proxy.
std::string talos_patch();

}  // namespace axon::client
