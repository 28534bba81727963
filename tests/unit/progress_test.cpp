#include <doctest/doctest.h>

#include <sstream>

#include "cli/progress.h"

using axon::cli::Context;
using axon::cli::Progress;

TEST_CASE("progress on a terminal redraws one status line on stderr; results go to stdout") {
  std::ostringstream out, err;
  Context ctx(out, err);
  ctx.err_is_tty = true;
  ctx.getenv = [](const char*) -> const char* { return nullptr; };
  {
    Progress p(ctx);
    CHECK(p.interactive());
    p.status("waiting for DaemonSet kube-system/axon-agent: 1/3 ready (1s)");
    p.status("waiting for DaemonSet kube-system/axon-agent: 2/3 ready (2s)");
    p.line("daemonset.apps/axon-agent ready");
  }
  CHECK(out.str() == "daemonset.apps/axon-agent ready\n");
  CHECK(err.str() ==
        "\r\x1b[K⌛ waiting for DaemonSet kube-system/axon-agent: 1/3 ready (1s)"
        "\r\x1b[K⌛ waiting for DaemonSet kube-system/axon-agent: 2/3 ready (2s)"
        "\r\x1b[K");
}

TEST_CASE("progress in CI or a pipe prints each status once, as a plain line") {
  std::ostringstream out, err;
  Context ctx(out, err);
  ctx.err_is_tty = true;
  ctx.getenv = [](const char* n) -> const char* { return std::string(n) == "CI" ? "true" : nullptr; };
  Progress p(ctx);
  CHECK_FALSE(p.interactive());
  p.status("waiting for X: 1/3 ready (1s)");
  p.status("waiting for X: 1/3 ready (2s)");  // same news, elapsed time aside
  p.status("waiting for X: 2/3 ready (3s)");
  CHECK(err.str() == "waiting for X: 1/3 ready (1s)\nwaiting for X: 2/3 ready (3s)\n");
  CHECK(p.fail(axon::Error{"boom"}) == 1);
  CHECK(err.str().ends_with("Error: boom\n"));
}
