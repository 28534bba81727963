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

}  // namespace axon::test
