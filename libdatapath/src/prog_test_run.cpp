#include "axon/datapath/prog_test_run.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <string>

namespace axon::datapath {

Result<TestRunResult> prog_test_run(const bpf_program* prog, std::span<const uint8_t> packet,
                                    uint32_t repeat, uint32_t mark) {
  int fd = bpf_program__fd(prog);
  if (fd < 0)
    return Error{std::string("program ") + bpf_program__name(prog) + " is not loaded", -fd};
  TestRunResult r;
  // Programs may grow the packet (encapsulation): leave headroom.
  r.packet_out.resize(packet.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_out = r.packet_out.data(),
              .data_size_in = static_cast<uint32_t>(packet.size()),
              .data_size_out = static_cast<uint32_t>(r.packet_out.size()),
              .repeat = static_cast<int>(repeat));
  __sk_buff ctx{};
  if (mark != 0) {
    ctx.mark = mark;
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
  }
  int err = bpf_prog_test_run_opts(fd, &opts);
  if (err != 0) {
    return Error{std::string("BPF_PROG_TEST_RUN of ") + bpf_program__name(prog), errno};
  }
  r.retval = opts.retval;
  r.duration_ns = opts.duration;
  r.packet_out.resize(opts.data_size_out);
  return r;
}

}  // namespace axon::datapath
