// Tests against a real kube-apiserver (tests/support/kube_apiserver.h),
// started once for all of them. Without the binaries: exit 77 (skipped).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>

#include "kube_env.h"

namespace axon::test {
namespace {
KubeApiServer* g_server = nullptr;
}
const KubeApiServer& kube_server() { return *g_server; }
}  // namespace axon::test

int main(int argc, char** argv) {
  // The watch cache off: watches read etcd itself, so a compacted version
  // is "410 Gone" at once, as a cache that rolled over would say.
  axon::test::KubeApiServer server(AXON_KUBE_TOOLS_DIR, "--watch-cache=false");
  if (!server.available()) {
    std::cerr << (server.failed() ? "FAIL: " : "SKIP: ") << server.why() << "\n";
    return server.failed() ? 1 : 77;
  }
  axon::test::g_server = &server;
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
