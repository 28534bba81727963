// axon apply -f: put the objects of manifests into the cluster, kubectl
// style, but all or nothing: every object is checked first.
#include "axon/client/apply.h"

#include "axon/client/printers.h"
#include "axon/client/validation.h"
#include "cli/command.h"
#include "cli/cluster.h"
#include "cli/diagnostics.h"
#include "cli/output.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct ApplyParams {
  std::vector<std::string> files;
  bool recursive = false;
  std::string namespace_ = "default";
  const CLI::Option* namespace_opt = nullptr;
  bool dry_run = false;
  std::string output;
};

int run(cli::Context& ctx, const ApplyParams& p) {
  if (p.files.empty()) {
    throw cli::UsageError(
        "must specify -f FILE, DIR or - (standard input); e.g. axon apply -f app.yaml");
  }
  auto set = client::load_manifests(p.files, p.recursive, *ctx.in);
  auto problems = set.problems;
  auto invalid = client::validate_manifests(client::builtin_validators(), set.objects);
  problems.insert(problems.end(), invalid.begin(), invalid.end());
  if (!has_errors(problems)) {
    auto ns = client::assign_namespaces(
        set.objects, client::NamespaceChoice{p.namespace_, p.namespace_opt->count() > 0});
    problems.insert(problems.end(), ns.begin(), ns.end());
  }
  if (cli::report_manifest_problems(ctx, problems, "nothing was applied")) return cli::kExitUsage;
  if (set.objects.empty()) {
    ctx.err << "Error: no objects passed to apply\n";
    return cli::kExitUsage;
  }

  auto store = cli::connect_or_report(ctx);
  if (!store) return cli::kExitFailed;
  auto objects = set.objects;
  client::sort_for_apply(objects);
  auto missing = client::missing_namespaces(*store, objects);
  if (!missing) {
    ctx.err << "Error: " << missing.error().str() << "\n";
    return cli::kExitFailed;
  }
  if (cli::report_manifest_problems(ctx, *missing, "nothing was applied")) return cli::kExitFailed;
  auto ports = client::node_port_problems(*store, objects);
  if (!ports) {
    ctx.err << "Error: " << ports.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto lb = client::lb_ipam_problems(*store, objects);  // warnings only
  if (lb) ports->insert(ports->end(), lb->begin(), lb->end());
  auto routes = client::gateway_problems(*store, objects);  // warnings only
  if (routes) ports->insert(ports->end(), routes->begin(), routes->end());
  if (cli::report_manifest_problems(ctx, *ports, "nothing was applied")) return cli::kExitUsage;

  const bool dry = p.dry_run;
  const std::string suffix = dry ? " (dry run)" : "";
  int failures = 0;
  std::vector<client::Json> applied;
  for (const auto& m : objects) {
    client::ObjectRef ref = client::ObjectRef::of(m.object);
    auto outcome = dry ? client::preview_apply(*store, m.object) : store->apply(m.object);
    if (!outcome) {
      ctx.err << "error: when applying " << m.where("").str() << ": document " << m.document << " ("
              << m.describe() << "): " << outcome.error().str() << "\n";
      ++failures;
      continue;
    }
    if (p.output.empty()) {
      ctx.out << client::kubectl_name(ref) << " " << client::to_string(*outcome) << suffix << "\n";
    } else if (p.output == "name") {
      ctx.out << client::kubectl_name(ref) << "\n";
    } else {
      auto live =
          dry ? Result<std::optional<client::Json>>(std::optional(m.object)) : store->get(ref);
      applied.push_back(live && *live ? **live : m.object);
    }
  }
  if (p.output == "json" || p.output == "yaml") {
    cli::print_objects(ctx.out, p.output,
                  applied.size() == 1 ? applied.front() : client::list_document(applied));
  }
  if (failures > 0) {
    ctx.err << "Error: " << failures << " of " << objects.size()
            << " objects could not be applied\n";
    return cli::kExitFailed;
  }
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<ApplyParams>();
  b.description(
      "Create or update objects from manifests, as `kubectl apply -f` does: multi-document YAML "
      "or JSON (a `kind: List` too), from files, directories (every .yaml, .yml and .json file, "
      "in name order) or standard input (-f -).\n"
      "\n"
      "Every object is checked before the first one is written: its apiVersion and kind must be "
      "ones axon serves, its name a valid DNS name, its fields well-formed (Service ports, "
      "workload selectors matching their pod template, containers...). If any object is wrong, "
      "each problem is printed with its file, document, line and field and how to fix it, and "
      "nothing is applied (exit 2). A namespace that does not exist is an error too (exit 1), "
      "unless a Namespace in the same files creates it.\n"
      "\n"
      "Objects are applied in dependency order (CustomResourceDefinitions, Namespaces, then the "
      "rest) and each prints one line: created, configured or unchanged. Namespaced objects "
      "without a namespace go to -n (default: default).");
  b.group("Input");
  b.files("-f,--filename", p.files, "File, directory or - (stdin) with the objects; repeatable");
  b.flag("-R,--recursive", p.recursive, "Also read the subdirectories of -f directories");
  p.namespace_opt = b.option("-n,--namespace", p.namespace_, "NAMESPACE",
                             "Namespace of objects that name none; objects in another are an "
                             "error when given");
  b.group("Output");
  b.flag("--dry-run", p.dry_run,
         "Check and show what would be created, configured or unchanged; write nothing");
  b.choice("-o,--output", p.output, {"json", "yaml", "name"},
           "Print the applied objects as JSON or YAML, or only their names");
  b.example("axon apply -f service.yaml");
  b.example("axon apply -f manifests/ --dry-run     # what would change");
  b.example("cat policy.yaml | axon apply -f - -n production");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(apply, {"apply", "Create or update objects from manifests", "Cluster",
                              axon::commands::setup})
