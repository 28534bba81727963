// Running a loaded BPF program on a crafted packet with BPF_PROG_TEST_RUN:
// the kernel executes the real program on the bytes and reports its return
// code and the packet as the program left it. Used by tests, benchmarks and
// (later) `axon` packet simulation.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "axon/base/result.h"

struct bpf_program;

namespace axon::datapath {

struct TestRunResult {
  uint32_t retval = 0;              // the program's return code (TC_ACT_OK, TC_ACT_SHOT, ...)
  std::vector<uint8_t> packet_out;  // the packet after the program ran
  uint32_t duration_ns = 0;         // mean run time per repetition, as the kernel measured
};

// Runs `prog` `repeat` times on a copy of `packet`, with skb->mark `mark`.
Result<TestRunResult> prog_test_run(const bpf_program* prog, std::span<const uint8_t> packet,
                                    uint32_t repeat = 1, uint32_t mark = 0);

}  // namespace axon::datapath
