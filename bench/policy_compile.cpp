// Policy compile benchmark: 1,000 policies over 5,000 identities
// and 2,000 local endpoints — a full compile, then the incremental update
// when one pod with a new identity appears, and when one policy changes.
// Targets: full compile < 1 s, incremental < 10 ms; memory reported.
//
//   axon_bench_policy [--policies N] [--identities N] [--endpoints N] [--rounds N]
//                     [--cluster-peers 1]
//
// --cluster-peers adds a cluster-wide rule letting every pod of the cluster
// reach every endpoint on 8081 (fromEntities: [cluster]): one entry per
// identity per endpoint, the worst case for the map size.
//
// The cluster: 50 namespaces of 40 apps; identities are (namespace, app,
// track) label sets; endpoints are two replicas of 1,000 identities. The
// policies, decoded from YAML as `axon apply` would:
//   - one default deny (ingress and egress) per namespace;
//   - per app: ingress from the next app in its namespace on 8080/TCP, from
//     the monitoring app of every namespace on 9090, egress to a database
//     app on 5432/TCP and to a port range; every 10th has HTTP rules, every
//     7th a deny, every 5th a CIDR egress;
//   - ten cluster-wide rules: DNS to kube-dns (UDP and TCP 53, no default
//     deny), world on 443 for the front apps, cluster-wide health checks.
#include <malloc.h>
#include <time.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "axon/policy/decode.h"
#include "axon/policy/engine.h"

using namespace axon;
using namespace axon::policy;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU time of this thread (ms): what the work costs, whatever else the
// machine runs (it is shared; wall time is reported beside it).
double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Resident set size of this process, from /proc (MiB).
double rss_mib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(std::strlen(field))) / 1024.0;
  }
  return 0;
}

std::string ns_name(int i) { return "ns-" + std::to_string(i); }
std::string app_name(int i) { return "app-" + std::to_string(i); }

std::string policies_yaml(int count, int namespaces, int apps, bool cluster_peers) {
  std::string y;
  int n = 0;
  if (cluster_peers) {
    y += "---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: "
         "cluster-peers}\nspec:\n  endpointSelector: {}\n  enableDefaultDeny: {ingress: false}\n"
         "  ingress:\n    - fromEntities: [cluster]\n      toPorts: [{ports: [{port: \"8081\", "
         "protocol: TCP}]}]\n";
    ++n;
  }
  for (int k = 0; k < namespaces && n < count; ++k, ++n) {
    y += "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: default-deny, "
         "namespace: " + ns_name(k) + "}\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n  egress: [{}]\n";
  }
  const char* kClusterwide[] = {
      "  endpointSelector: {}\n  enableDefaultDeny: {egress: false}\n  egress:\n"
      "    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]\n"
      "      toPorts: [{ports: [{port: \"53\", protocol: UDP}, {port: \"53\", protocol: TCP}]}]\n",
      "  endpointSelector: {matchLabels: {app: app-0}}\n  ingress:\n    - fromEntities: [world]\n"
      "      toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]\n",
      "  endpointSelector: {}\n  enableDefaultDeny: {ingress: false}\n  ingress:\n"
      "    - fromEntities: [host, remote-node]\n      toPorts: [{ports: [{port: \"8081\", protocol: TCP}]}]\n",
  };
  for (int c = 0; n < count && c < 10; ++c, ++n) {
    y += "---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: cw-" +
         std::to_string(c) + "}\nspec:\n" + kClusterwide[c % 3];
  }
  for (int p = 0; n < count; ++p, ++n) {
    int k = p % namespaces;
    int a = (p / namespaces) % apps;
    std::string spec = "  endpointSelector: {matchLabels: {app: " + app_name(a) + "}}\n";
    spec += "  ingress:\n";
    spec += "    - fromEndpoints: [{matchLabels: {app: " + app_name((a + 1) % apps) + "}}]\n";
    if (p % 10 == 0) {
      spec += "      toPorts: [{ports: [{port: \"8080\", protocol: TCP}], rules: {http: [{method: GET, "
              "path: \"/api/.*\"}]}}]\n";
    } else {
      spec += "      toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n";
    }
    spec += "    - fromEndpoints: [{matchLabels: {app: monitoring}, matchExpressions: [{key: "
            "k8s:io.kubernetes.pod.namespace, operator: Exists}]}]\n"
            "      toPorts: [{ports: [{port: \"9090\", protocol: TCP}]}]\n";
    spec += "  egress:\n";
    spec += "    - toEndpoints: [{matchLabels: {app: " + app_name((a + 3) % apps) + "}}]\n"
            "      toPorts: [{ports: [{port: \"5432\", protocol: TCP}, {port: \"7000\", endPort: 7010}]}]\n";
    if (p % 5 == 0) {
      spec += "    - toCIDRSet: [{cidr: 10." + std::to_string(p % 200) + ".0.0/16, except: [10." +
              std::to_string(p % 200) + ".1.0/24]}]\n";
    }
    if (p % 7 == 0) {
      spec += "  ingressDeny:\n    - fromEndpoints: [{matchLabels: {track: canary}}]\n"
              "      toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n";
    }
    y += "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p-" +
         std::to_string(p) + ", namespace: " + ns_name(k) + "}\nspec:\n" + spec;
  }
  return y;
}

LabelSet pod(int ns, const std::string& app, const std::string& track) {
  PodLabels pl;
  pl.ns = ns_name(ns);
  pl.labels = {{"app", app}, {"track", track}};
  return identity_labels(pl);
}

struct Stats {
  double mean, p50, max;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return Stats{std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()),
               v[v.size() / 2], v.back()};
}

}  // namespace

int main(int argc, char** argv) {
  int n_policies = 1000, n_identities = 5000, n_endpoints = 2000, rounds = 50;
  bool cluster_peers = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--policies") n_policies = v;
    if (a == "--identities") n_identities = v;
    if (a == "--endpoints") n_endpoints = v;
    if (a == "--rounds") rounds = v;
    if (a == "--cluster-peers") cluster_peers = v != 0;
  }
  const int namespaces = 50, apps = 40;
  const double rss0 = rss_mib("VmRSS:");

  auto t0 = Clock::now();
  double c0 = cpu_ms();
  std::string yaml = policies_yaml(n_policies, namespaces, apps, cluster_peers);
  auto decoded = decode_policies(yaml, "bench.yaml");
  double decode_ms = ms_since(t0);
  double decode_cpu = cpu_ms() - c0;
  if (decoded.policies.size() != static_cast<size_t>(n_policies) ||
      count(decoded.problems, Severity::error) != 0) {
    std::fprintf(stderr, "bench: %zu policies decoded, %zu errors\n", decoded.policies.size(),
                 count(decoded.problems, Severity::error));
    return 1;
  }

  InMemoryIdentityAllocator alloc;
  std::vector<Identity> ids;
  const char* tracks[] = {"stable", "canary", "beta"};
  for (int i = 0; i < n_identities; ++i) {
    std::string app = i % 97 == 0 ? "monitoring" : app_name((i / namespaces) % apps);
    auto id = alloc.allocate(pod(i % namespaces, app, tracks[(i / (namespaces * apps)) % 3]));
    if (!id) return 1;
    ids.push_back(*id);
  }

  PolicyEngine engine({}, &alloc);
  for (auto& p : decoded.policies) engine.upsert_policy(p);
  for (const auto& id : ids) engine.upsert_identity(id);
  const int distinct = std::max(1, n_endpoints / 2);
  for (int e = 0; e < n_endpoints; ++e) {
    engine.upsert_endpoint(Endpoint{static_cast<uint64_t>(e + 1),
                                    ids[static_cast<size_t>((e % distinct) * n_identities / distinct)].id,
                                    {}});
  }
  const double rss_before = rss_mib("VmRSS:");
  const double heap_before = static_cast<double>(mallinfo2().uordblks) / (1 << 20);
  t0 = Clock::now();
  c0 = cpu_ms();
  auto full = engine.commit();
  double full_ms = ms_since(t0);
  double full_cpu = cpu_ms() - c0;
  const double rss_after = rss_mib("VmRSS:");
  const double heap_after = static_cast<double>(mallinfo2().uordblks) / (1 << 20);
  size_t entries = 0, max_entries = 0;
  for (int e = 0; e < n_endpoints; ++e) {
    size_t n = engine.endpoint_policy(static_cast<uint64_t>(e + 1))->policy.entries.size();
    entries += n;
    max_entries = std::max(max_entries, n);
  }

  // One pod with a new identity appears (new labels: version=<round>), on
  // this node: its identity is new to every peer and its own policy is new.
  std::vector<double> pod_ms, policy_ms, pod_cpu, policy_cpu;
  size_t pod_changed = 0, pod_endpoints = 0, policy_changed = 0, policy_compiled = 0;
  for (int r = 0; r < rounds; ++r) {
    PodLabels pl;
    pl.ns = ns_name(r % namespaces);
    pl.labels = {{"app", app_name((r * 7) % apps)}, {"track", "stable"}, {"version", "r" + std::to_string(r)}};
    auto id = alloc.allocate(identity_labels(pl));
    if (!id) return 1;
    auto t = Clock::now();
    double c = cpu_ms();
    engine.upsert_identity(*id);
    engine.upsert_endpoint(Endpoint{static_cast<uint64_t>(100000 + r), id->id, {}});
    auto s = engine.commit();
    pod_ms.push_back(ms_since(t));
    pod_cpu.push_back(cpu_ms() - c);
    pod_changed += s.entries_changed();
    pod_endpoints += s.endpoints_updated;
  }
  // One policy changes (its ingress port), and is put back.
  for (int r = 0; r < rounds; ++r) {
    Policy p = decoded.policies[static_cast<size_t>(100 + r)];
    auto& port = p.rules[0].ingress[0].ports[0].ports[0];
    port.port = static_cast<uint16_t>(port.port + 1 + r);
    auto t = Clock::now();
    double c = cpu_ms();
    engine.upsert_policy(p);
    auto s = engine.commit();
    policy_ms.push_back(ms_since(t));
    policy_cpu.push_back(cpu_ms() - c);
    policy_changed += s.entries_changed();
    policy_compiled += s.policies_compiled;
    engine.upsert_policy(decoded.policies[static_cast<size_t>(100 + r)]);
    (void)engine.commit();
  }
  auto ps = stats(pod_ms);
  auto pol = stats(policy_ms);
  auto psc = stats(pod_cpu);
  auto polc = stats(policy_cpu);
  std::printf("workload: %d policies (%zu rules), %zu identities, %d endpoints (%d distinct identities)\n",
              n_policies, decoded.policies.size(), engine.identity_count(), n_endpoints, distinct);
  std::printf("decode %d policies from YAML:   %8.1f ms wall, %8.1f ms CPU\n", n_policies,
              decode_ms, decode_cpu);
  std::printf("full compile:                    %8.1f ms wall, %8.1f ms CPU   (target < 1000 ms)\n",
              full_ms, full_cpu);
  std::printf("  entries: %zu over %d endpoints (mean %.0f, max %zu); %zu entry writes\n", entries,
              n_endpoints, static_cast<double>(entries) / n_endpoints, max_entries,
              full.entries_added);
  std::printf("  memory: the compiled state holds %.1f MiB of heap (%.1f -> %.1f MiB in use); "
              "RSS %.1f -> %.1f MiB, peak %.1f MiB (%.1f MiB at start)\n",
              heap_after - heap_before, heap_before, heap_after, rss_before, rss_after,
              rss_mib("VmHWM:"), rss0);
  std::printf("new pod with a new identity:     wall mean %.3f ms, p50 %.3f ms, max %.3f ms; CPU mean "
              "%.3f ms, p50 %.3f ms, max %.3f ms   (target < 10 ms)\n",
              ps.mean, ps.p50, ps.max, psc.mean, psc.p50, psc.max);
  std::printf("  per round: %.1f entries changed on %.1f endpoints\n",
              static_cast<double>(pod_changed) / rounds, static_cast<double>(pod_endpoints) / rounds);
  std::printf("one policy changes:              wall mean %.3f ms, p50 %.3f ms, max %.3f ms; CPU mean "
              "%.3f ms, p50 %.3f ms, max %.3f ms\n",
              pol.mean, pol.p50, pol.max, polc.mean, polc.p50, polc.max);
  std::printf("  per round: %.1f entries changed, %.1f identities recompiled\n",
              static_cast<double>(policy_changed) / rounds,
              static_cast<double>(policy_compiled) / rounds);
  return 0;
}
