// axon version: what this binary is and what it runs on.
#include <sys/utsname.h>

#include "axon/base/build_info.h"
#include "axon/datapath/libbpf_env.h"
#include "cli/command.h"
#include "cli/output.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string kernel_release() {
  struct utsname u {};
  if (::uname(&u) != 0) return "unknown";
  return u.release;
}

int run(cli::Context& ctx) {
  nlohmann::ordered_json doc = {
      {"version", build_info::version}, {"gitCommit", build_info::git_commit},
      {"compiler", compiler()},         {"libbpf", datapath::libbpf_version()},
      {"kernel", kernel_release()},
  };
  auto format = cli::parse_format(ctx.global.output);
  if (format != cli::Format::table) {
    cli::print_document(ctx.out, format, doc);
    return cli::kExitOk;
  }
  cli::Table t;
  t.row({"axon:", doc["version"]});
  t.row({"git commit:", doc["gitCommit"]});
  t.row({"compiler:", doc["compiler"]});
  t.row({"libbpf:", doc["libbpf"]});
  t.row({"kernel:", doc["kernel"]});
  t.print(ctx.out);
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  b.description(
      "Print the version of axon, the git commit it was built from, the compiler that built it, "
      "the libbpf it loads BPF programs with and the release of the running kernel.");
  b.example("axon version");
  b.example("axon version -o json");
  b.action([&ctx = b.ctx()] { return run(ctx); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(version, {"version", "Print version and build information", "Other commands",
                                axon::commands::setup})
