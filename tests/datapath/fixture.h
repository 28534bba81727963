// Test fixtures for the datapath: a Datapath pinned under a directory of its
// own (/sys/fs/bpf/axon/test-<pid>-<n>) whose pins are removed when the
// fixture goes, even when the test fails; packets and helpers for
// BPF_PROG_TEST_RUN.
#pragma once

#include <doctest/doctest.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "axon/abi/datapath.h"
#include "axon/datapath/datapath.h"
#include "axon/datapath/prog_test_run.h"
#include "packet_builder.h"

namespace axon::test {

// Removes pin directories of earlier test runs whose process is gone (a
// crash leaves them): only /sys/fs/bpf/axon/test-<pid>-<n>, only by name.
void remove_stale_test_pins();

// A fresh pin directory name for this process.
std::string unique_test_pin_dir();

class TestDatapath {
 public:
  explicit TestDatapath(datapath::DatapathConfig config = {});
  ~TestDatapath();
  TestDatapath(const TestDatapath&) = delete;
  TestDatapath& operator=(const TestDatapath&) = delete;

  datapath::Datapath& operator*() { return *dp_; }
  datapath::Datapath* operator->() { return &*dp_; }
  const std::string& pin_dir() const { return dir_; }

 private:
  std::string dir_;
  std::optional<datapath::Datapath> dp_;
};

inline datapath::Ipv4 ip(std::string_view text) {
  return datapath::Ipv4{parse_ipv4(text)};
}

// Runs a program once on `packet`; REQUIREs success.
datapath::TestRunResult run(const bpf_program* prog, const std::vector<uint8_t>& packet);

// Every event currently in the ring buffer.
std::vector<datapath::Event> drain(datapath::EventReader& reader);

// Whether a drop is the proxy step's (lib/proxy.h) for a packet of IP
// protocol `ip_protocol` the policy redirected: a test run cannot deliver to
// a socket (bpf_sk_assign works at TC ingress only), so a redirect ends as
// SOCKET_LOOKUP_FAILED (nothing listens on the proxy port), SOCKET_ASSIGN_
// FAILED (something does) or, other than TCP/UDP, PROXY_REDIRECTION_NOT_
// SUPPORTED_FOR_PROTOCOL.
inline bool proxy_step_drop(uint8_t drop_reason, int ip_protocol) {
  if (ip_protocol != IPPROTO_TCP && ip_protocol != IPPROTO_UDP)
    return drop_reason == AXON_DROP_PROXY_UNSUPPORTED_PROTO;
  return drop_reason == AXON_DROP_SOCKET_LOOKUP_FAILED ||
         drop_reason == AXON_DROP_SOCKET_ASSIGN_FAILED;
}

}  // namespace axon::test
