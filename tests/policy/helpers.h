// Shared by the policy tests: decoding YAML snippets, a small cluster of
// pods with identities, and a verdict that is computed twice — by direct
// evaluation of the rules and by the compiled policy map entries — and
// checked to agree.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "axon/base/strings.h"
#include "axon/policy/compiler.h"
#include "axon/policy/decode.h"
#include "axon/policy/engine.h"
#include "axon/policy/evaluate.h"
#include "axon/policy/identity.h"

namespace axon::policy::test {

inline std::string dump(const std::vector<Diagnostic>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.one_line() + "\n";
  return out;
}

// Valid policies of a YAML text; fails the test on any error.
inline std::vector<Policy> must_decode(std::string_view yaml, const std::string& file = "t.yaml") {
  auto d = decode_policies(yaml, file);
  CHECK_MESSAGE(count(d.problems, Severity::error) == 0, dump(d.problems));
  return d.policies;
}

inline std::vector<Diagnostic> problems_of(std::string_view yaml, const std::string& file = "t.yaml") {
  return decode_policies(yaml, file).problems;
}

// The problem at exactly this field path, with this severity.
inline const Diagnostic* at(const std::vector<Diagnostic>& ps, std::string_view path,
                         Severity sev = Severity::error) {
  for (const auto& p : ps) {
    if (p.path == path && p.severity == sev) return &p;
  }
  return nullptr;
}

inline bool mentions(const Diagnostic* p, std::string_view text) {
  return p != nullptr && (p->message.find(text) != std::string::npos ||
                          p->fix.find(text) != std::string::npos);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string seed_file(const std::string& name) {
  return read_file(std::string(AXON_SEED_DIR) + "/" + name);
}

// Pods (and outside addresses) with identities from one allocator; every
// identity handed out is in `universe`, with the reserved ones.
class Cluster {
 public:
  Cluster() : universe_(reserved_identities()) {}

  // labels: "role=frontend,tier=web"
  Peer pod(const std::string& ns, const std::string& labels, NamedPorts ports = {}) {
    PodLabels pl;
    pl.ns = ns;
    if (!labels.empty()) {
      for (const auto& kv : split(labels)) {
        auto eq = kv.find('=');
        pl.labels[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
      }
    }
    return add(identity_labels(pl), std::move(ports));
  }
  Peer cidr(const std::string& prefix) {
    auto p = parse_prefix(prefix);
    REQUIRE(p.ok());
    return add(cidr_labels(p->prefix), {});
  }
  Peer reserved(uint32_t id) { return Peer{Identity{id, reserved_labels(id)}, {}}; }

  const std::vector<Identity>& universe() const { return universe_; }

 private:
  static std::vector<std::string> split(const std::string& csv) {
    std::vector<std::string> out;
    std::stringstream ss(csv);
    for (std::string part; std::getline(ss, part, ',');) out.push_back(part);
    return out;
  }
  Peer add(const LabelSet& labels, NamedPorts ports) {
    auto id = alloc_.allocate(labels);
    REQUIRE(id.ok());
    if (std::none_of(universe_.begin(), universe_.end(),
                     [&](const Identity& i) { return i.id == id->id; })) {
      universe_.push_back(*id);
    }
    return Peer{*id, std::move(ports)};
  }

  InMemoryIdentityAllocator alloc_;
  std::vector<Identity> universe_;
};

inline Flow tcp(uint16_t port) { return Flow{Protocol::tcp, port}; }
inline Flow udp(uint16_t port) { return Flow{Protocol::udp, port}; }
inline Flow sctp(uint16_t port) { return Flow{Protocol::sctp, port}; }
inline Flow icmp(uint8_t type) { return Flow{Protocol::icmp, type}; }

// The source's egress and the destination's ingress, each answered by the
// evaluator and by the compiled entries (for pods: the world has no map).
struct Verdict {
  bool allowed = false;
  bool egress = false;
  bool ingress = false;
  bool redirected = false;
};

inline Verdict verdict(const std::vector<Policy>& policies, const Peer& src, const Peer& dst,
                       const Flow& f, const std::vector<Identity>& universe) {
  auto t = trace(policies, src, dst, f, /*allow_localhost=*/false);  // the rules alone
  Verdict v{t.allowed, t.egress.allowed, t.ingress.allowed,
            t.egress.redirected || t.ingress.redirected};
  auto check_map = [&](const Peer& subject, const Peer& peer, Direction d, bool expect,
                       bool expect_redirect) {
    if (!is_cluster_scope(subject.identity.id)) return;
    PolicyEngine engine;
    for (const auto& p : policies) engine.upsert_policy(p);
    for (const auto& id : universe) engine.upsert_identity(id);
    engine.upsert_identity(subject.identity);
    engine.upsert_endpoint(Endpoint{1, subject.identity.id, subject.named_ports});
    if (!peer.named_ports.empty()) engine.set_named_ports(peer.identity.id, peer.named_ports);
    (void)engine.commit();
    const CompiledPolicy* c = engine.endpoint_policy(1);
    REQUIRE(c != nullptr);
    auto l = lookup(c->policy, d, peer.identity.id, f);
    CHECK_MESSAGE(l.allowed == expect, "compiled " << direction_name(d) << " at ["
                                                   << to_string(subject.identity.labels)
                                                   << "] for " << to_string(f)
                                                   << " disagrees with evaluation");
    CHECK(l.redirected == expect_redirect);
  };
  check_map(src, dst, Direction::egress, t.egress.allowed, t.egress.redirected);
  check_map(dst, src, Direction::ingress, t.ingress.allowed, t.ingress.redirected);
  return v;
}

}  // namespace axon::policy::test
