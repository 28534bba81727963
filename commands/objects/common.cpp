#include "commands/objects/common.h"

#include "cli/cluster.h"
#include "cli/diagnostics.h"

namespace axon::commands {

std::unique_ptr<client::ClusterStore> connect_or_report(cli::Context& ctx) {
  auto store = cli::connect_cluster(ctx);
  if (!store) {
    ctx.err << "Error: " << store.error().str() << "\n";
    return nullptr;
  }
  return std::move(*store);
}

bool report_problems(cli::Context& ctx, const std::vector<client::Diagnostic>& problems,
                     const std::string& nothing_done) {
  cli::print_diagnostics(ctx, problems);
  if (!client::has_errors(problems)) return false;
  ctx.err << "Error: the manifests have " << cli::count_summary(problems) << "; " << nothing_done
          << "\n";
  return true;
}

std::string not_found_message(const client::ResourceInfo& r, const std::string& name,
                              const std::string& file, const std::string& verb) {
  std::string where = file.empty() ? "" : "error when " + verb + " \"" + file + "\": ";
  return "Error from server (NotFound): " + where + r.qualified_plural() + " \"" + name +
         "\" not found";
}

void print_objects(cli::Context& ctx, const std::string& format, const client::Json& doc) {
  if (format == "yaml") {
    ctx.out << client::to_yaml(doc);
  } else {
    ctx.out << doc.dump(4) << "\n";
  }
}

}  // namespace axon::commands
