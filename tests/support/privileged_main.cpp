// main() for test binaries that need CAP_BPF/CAP_NET_ADMIN. Without them
// the binary exits 77, which ctest reports as SKIPPED (SKIP_RETURN_CODE):
// a missing privilege is never a silent pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "axon/datapath/libbpf_env.h"

int main(int argc, char** argv) {
  if (auto st = axon::datapath::probe_bpf(); !st) {
    std::fprintf(stderr, "SKIP: this machine cannot run BPF programs: %s\n",
                 st.error().str().c_str());
    return 77;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
