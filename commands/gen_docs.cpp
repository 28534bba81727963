// axon gen-docs (hidden): write the man pages and completion scripts that
// are committed under man/ and completions/ (scripts/gen-docs calls it;
// tests compare its output with the committed files).
#include <filesystem>
#include <fstream>

#include "axon/base/build_info.h"
#include "cli/app.h"
#include "cli/docs.h"
#include "cli/spec.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;
namespace fs = std::filesystem;

struct Params {
  std::string man_dir;
  std::string completions_dir;
};

bool write_file(cli::Context& ctx, const fs::path& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  f.close();
  if (!f) {
    ctx.err << "Error: cannot write " << path.string() << "\n";
    return false;
  }
  return true;
}

int run(cli::Context& ctx, const Params& p) {
  if (p.man_dir.empty() && p.completions_dir.empty()) {
    throw cli::UsageError("nothing to do: give --man DIR and/or --completions DIR");
  }
  std::ostringstream sink;
  cli::Context quiet(sink, sink);
  cli::Cli cli(quiet);
  auto spec = cli::describe(cli);
  if (!p.man_dir.empty()) {
    fs::create_directories(p.man_dir);
    for (const auto& page : cli::man_pages(spec, build_info::version)) {
      if (!write_file(ctx, fs::path(p.man_dir) / page.file_name, page.content))
        return cli::kExitFailed;
    }
  }
  if (!p.completions_dir.empty()) {
    fs::create_directories(p.completions_dir);
    for (const std::string shell : {"bash", "zsh", "fish"}) {
      auto path = fs::path(p.completions_dir) / cli::completion_file_name(shell);
      if (!write_file(ctx, path, cli::completion_script(spec, shell))) return cli::kExitFailed;
    }
  }
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<Params>();
  b.option("--man", p.man_dir, "DIR", "Write man pages into DIR");
  b.option("--completions", p.completions_dir, "DIR", "Write completion scripts into DIR");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

// Empty group: hidden from help, completions and man pages.
AXON_REGISTER_COMMAND(gen_docs, {"gen-docs", "Write man pages and completion scripts", "",
                                 axon::commands::setup})
