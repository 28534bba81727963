// The node's DNS proxy (Cilium's): a transparent UDP and TCP listener the
// datapath hands a pod's DNS traffic to when its egress policy has dns rules
// on the port (lib/proxy.h; port 15053). Each query's name is held to the
// rules `Decide` returns for the pod and server: a name they do not allow is
// answered REFUSED (Cilium's default) from the server's address; an allowed
// one goes to the original server over the same transport and its answer
// back to the pod, after `Learn` has seen it (toFQDNs: the answer's addresses
// are allowed before the pod can use them). Every query and answer is
// reported to `Record` (L7 DNS flows). A server that does not answer in time:
// SERVFAIL.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/proxy/dns.h"
#include "axon/proxy/http_proxy.h"

namespace axon::proxy {

struct DnsDecision {
  std::shared_ptr<const DnsRuleSet> rules;  // null: every query refused
  std::string reason;
  uint32_t src_identity = 0;
  uint32_t dst_identity = 0;
};

// One query or its answer, for L7 DNS flows.
struct DnsExchange {
  ConnectionInfo connection;  // the pod (source) and the server it asked
  bool udp = true;
  uint32_t src_identity = 0;
  uint32_t dst_identity = 0;
  bool response = false;
  bool forwarded = true;  // false: refused (or failed) by the proxy
  std::string query;      // the name, trailing dot
  uint16_t qtype = 0;
  uint8_t rcode = 0;
  std::vector<std::string> ips;
  std::vector<std::string> cnames;
  std::vector<uint16_t> rrtypes;
  uint32_t ttl = 0;  // the smallest TTL of the answer's records
  std::chrono::nanoseconds latency{0};
};

struct DnsProxyOptions {
  uint16_t port = 15053;
  std::string address = "0.0.0.0";
  uint32_t socket_mark = 0;  // AXON_MARK_FROM_PROXY
  bool transparent = true;   // tests may listen plainly (original destination: `upstream`)
  std::string upstream;      // "ip:port": where queries go instead of their original destination
  std::chrono::milliseconds timeout{5000};  // the server's answer
};

class DnsProxy {
 public:
  using Decide = std::function<DnsDecision(const ConnectionInfo&, bool udp)>;
  using Record = std::function<void(const DnsExchange&)>;
  // Called with each allowed answer before it is sent to the pod.
  using Learn = std::function<void(const ConnectionInfo&, const DnsDecision&, const DnsMessage&)>;

  DnsProxy(DnsProxyOptions options, Decide decide, Record record = {}, Learn learn = {});
  ~DnsProxy();
  DnsProxy(const DnsProxy&) = delete;
  DnsProxy& operator=(const DnsProxy&) = delete;

  Status start();
  void stop();
  uint16_t port() const;

  struct Stats {
    uint64_t queries = 0;
    uint64_t refused = 0;
    uint64_t failed = 0;  // SERVFAIL: the server did not answer
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace axon::proxy
