// What every command gets: where to write, the global flags, the
// environment. Passed explicitly (no globals), so the whole CLI runs
// in-process in tests with string streams.
#pragma once

#include <cstdlib>
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>

namespace axon::cli {

// Exit codes, stable for scripts: 0 success, 1 a check failed (or the
// operation did), 2 usage or input error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Bad usage found after parsing (conflicting flags, unreadable input).
// run() prints "Error: <what>" and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GlobalOptions {
  std::string output = "table";  // -o: table | json | yaml, where the command supports it
  bool no_color = false;         // --no-color (NO_COLOR also disables color)
  int verbose = 0;               // -v count: 1 info, 2 debug, 3 trace
  std::string state_dir = "/run/axon";
  std::string lab;               // --lab / AXON_LAB: which lab, when several are up
  std::string kubeconfig;    // reserved for the Kubernetes backend
  std::string kube_context;  // --context
};

struct Context {
  using Getenv = std::function<const char*(const char*)>;

  Context(std::ostream& out_stream, std::ostream& err_stream) : out(out_stream), err(err_stream) {}

  std::ostream& out;
  std::ostream& err;
  GlobalOptions global;
  Getenv getenv = [](const char* name) -> const char* { return std::getenv(name); };
  bool out_is_tty = false;  // set by main from isatty(1)
  bool err_is_tty = false;  // set by main from isatty(2)
  std::string argv0 = "axon";

  std::string env(const char* name) const {
    const char* v = getenv(name);
    return v == nullptr ? std::string() : std::string(v);
  }

  // Color on stdout: only on a terminal, never with --no-color, a non-empty
  // NO_COLOR (no-color.org) or TERM=dumb.
  bool color() const {
    return out_is_tty && !global.no_color && env("NO_COLOR").empty() && env("TERM") != "dumb";
  }
  bool color_err() const {
    return err_is_tty && !global.no_color && env("NO_COLOR").empty() && env("TERM") != "dumb";
  }
};

}  // namespace axon::cli
