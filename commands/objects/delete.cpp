// axon delete: remove objects named by manifests or by kind and name,
// kubectl style.
#include "axon/base/strings.h"
#include "axon/client/apply.h"
#include "axon/client/resources.h"
#include "cli/command.h"
#include "cli/cluster.h"
#include "cli/diagnostics.h"
#include "cli/output.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct DeleteParams {
  std::vector<std::string> args;
  std::vector<std::string> files;
  bool recursive = false;
  std::string namespace_ = "default";
  const CLI::Option* namespace_opt = nullptr;
  bool all_namespaces = false;
  std::string selector;
  bool all = false;
  bool ignore_not_found = false;
  bool dry_run = false;
  std::string output;
};

struct Target {
  client::ResourceInfo resource;
  std::string namespace_;
  std::string name;
  std::string file;  // the manifest it came from, for messages
};

class Deleter {
 public:
  Deleter(cli::Context& ctx, client::ClusterStore& store, const DeleteParams& p)
      : ctx_(ctx), store_(store), p_(p) {}

  void remove(const Target& t) {
    client::ObjectRef ref{t.resource.api_version(), t.resource.kind,
                          t.resource.namespaced ? t.namespace_ : "", t.name};
    Result<bool> gone = false;
    if (p_.dry_run) {
      auto live = store_.get(ref);
      gone = live ? Result<bool>(live->has_value()) : Result<bool>(live.error());
    } else {
      gone = store_.remove(ref);
    }
    if (!gone) {
      ctx_.err << "error: deleting " << t.resource.qualified_singular() << " \"" << t.name
               << "\": " << gone.error().str() << "\n";
      ++failures_;
      return;
    }
    if (!*gone) {
      if (!p_.ignore_not_found) {
        ctx_.err << client::not_found_message(t.resource, t.name, t.file, "deleting") << "\n";
        ++failures_;
      }
      return;
    }
    ++deleted_;
    if (p_.output == "name") {
      ctx_.out << t.resource.qualified_singular() << "/" << t.name << "\n";
      return;
    }
    ctx_.out << t.resource.qualified_singular() << " \"" << t.name << "\" deleted"
             << (p_.dry_run ? " (dry run)" : "") << "\n";
  }

  int failures() const { return failures_; }
  int deleted() const { return deleted_; }

 private:
  cli::Context& ctx_;
  client::ClusterStore& store_;
  const DeleteParams& p_;
  int failures_ = 0;
  int deleted_ = 0;
};

int run_files(cli::Context& ctx, const DeleteParams& p) {
  auto set = client::load_manifests(p.files, p.recursive, *ctx.in);
  auto problems = set.problems;
  auto bad = client::check_identities(set.objects);
  problems.insert(problems.end(), bad.begin(), bad.end());
  if (!has_errors(problems)) {
    auto ns = client::assign_namespaces(
        set.objects, client::NamespaceChoice{p.namespace_, p.namespace_opt->count() > 0});
    problems.insert(problems.end(), ns.begin(), ns.end());
  }
  if (cli::report_manifest_problems(ctx, problems, "nothing was deleted")) return cli::kExitUsage;
  if (set.objects.empty()) {
    ctx.err << "Error: no objects passed to delete\n";
    return cli::kExitUsage;
  }
  auto store = cli::connect_or_report(ctx);
  if (!store) return cli::kExitFailed;
  auto objects = set.objects;
  client::sort_for_delete(objects);
  Deleter d(ctx, *store, p);
  std::vector<std::string> seen;
  for (const auto& m : objects) {
    client::ObjectRef ref = client::ObjectRef::of(m.object);
    std::string key = ref.str() + " " + ref.api_version;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;  // listed twice
    seen.push_back(key);
    d.remove(Target{*client::find_resource(ref.api_version, ref.kind), ref.namespace_, ref.name,
                    m.file});
  }
  return d.failures() > 0 ? cli::kExitFailed : cli::kExitOk;
}

int run_names(cli::Context& ctx, const DeleteParams& p) {
  std::vector<Target> targets;
  bool slash_form = p.args.front().find('/') != std::string::npos;
  std::optional<client::ResourceInfo> kind;
  if (slash_form) {
    for (const auto& a : p.args) {
      auto slash = a.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == a.size()) {
        throw cli::UsageError("\"" + a +
                              "\": when one argument is KIND/NAME, all must be (svc/api pod/x)");
      }
      auto r = client::resolve_resource(a.substr(0, slash));
      if (!r) throw cli::UsageError(r.error().message);
      targets.push_back(Target{*r, p.namespace_, a.substr(slash + 1), ""});
    }
  } else {
    auto r = client::resolve_resource(p.args.front());
    if (!r) throw cli::UsageError(r.error().message);
    kind = *r;
    for (size_t i = 1; i < p.args.size(); ++i)
      targets.push_back(Target{*r, p.namespace_, p.args[i], ""});
  }
  const bool by_list = !p.selector.empty() || p.all;
  if (by_list && (slash_form || !targets.empty())) {
    throw cli::UsageError("names cannot be given with -l or --all");
  }
  if (!by_list && targets.empty()) {
    throw cli::UsageError(
        "resource(s) were provided, but no name was specified: give NAME..., "
        "-l SELECTOR or --all");
  }
  if (p.all_namespaces && !by_list) {
    throw cli::UsageError("-A needs -l or --all (a name is looked up in one namespace)");
  }
  auto store = cli::connect_or_report(ctx);
  if (!store) return cli::kExitFailed;
  if (by_list) {
    const std::string ns = kind->namespaced && !p.all_namespaces ? p.namespace_ : "";
    auto items = store->list(kind->api_version(), kind->kind, ns, p.selector);
    if (!items) {
      ctx.err << "Error: " << items.error().str() << "\n";
      return cli::kExitFailed;
    }
    for (const auto& o : *items) {
      client::ObjectRef ref = client::ObjectRef::of(o);
      targets.push_back(Target{*kind, ref.namespace_, ref.name, ""});
    }
    if (targets.empty()) {
      ctx.err << "No resources found\n";
      return cli::kExitOk;
    }
  }
  Deleter d(ctx, *store, p);
  for (const auto& t : targets) d.remove(t);
  return d.failures() > 0 ? cli::kExitFailed : cli::kExitOk;
}

int run(cli::Context& ctx, const DeleteParams& p) {
  if (!p.files.empty() && !p.args.empty()) {
    throw cli::UsageError("give either -f or KIND NAME..., not both");
  }
  if (!p.files.empty()) {
    if (!p.selector.empty() || p.all) throw cli::UsageError("-l and --all do not go with -f");
    return run_files(ctx, p);
  }
  if (p.args.empty()) {
    throw cli::UsageError(
        "you must provide one or more resources by argument or filename: axon delete -f FILE, "
        "axon delete KIND NAME..., axon delete KIND -l SELECTOR");
  }
  return run_names(ctx, p);
}

void setup(CommandBuilder& b) {
  auto& p = b.params<DeleteParams>();
  b.description(
      "Delete objects, as `kubectl delete` does: those a manifest describes (-f FILE, DIR or -), "
      "or by kind and name (KIND NAME..., KIND/NAME...), or every object of a kind that matches "
      "-l SELECTOR (or --all). Kinds are accepted in kubectl's spellings: pods, pod, po, "
      "deployments.apps, cnp...\n"
      "\n"
      "Each deleted object prints one line (service \"api\" deleted). An object that does not "
      "exist is an error (exit 1) after the others are deleted, unless --ignore-not-found. "
      "Deleting a Namespace deletes everything in it. Manifests are deleted in the reverse of "
      "apply's order.");
  b.suggest(b.positional_list("resources", p.args, "KIND NAME... or KIND/NAME..."),
            client::resource_plurals());
  b.group("Input");
  b.files("-f,--filename", p.files, "File, directory or - (stdin) naming the objects");
  b.flag("-R,--recursive", p.recursive, "Also read the subdirectories of -f directories");
  p.namespace_opt = b.option("-n,--namespace", p.namespace_, "NAMESPACE",
                             "Namespace of the objects (and of manifest objects that name none)");
  b.flag("-A,--all-namespaces", p.all_namespaces, "With -l or --all: in every namespace");
  b.option("-l,--selector", p.selector, "SELECTOR",
           "Delete the objects of KIND whose labels match (app=api,tier!=db)");
  b.flag("--all", p.all, "Delete every object of KIND in the namespace");
  b.flag("--ignore-not-found", p.ignore_not_found, "An object that does not exist is not an error");
  b.group("Output");
  b.flag("--dry-run", p.dry_run, "Show what would be deleted; delete nothing");
  b.choice("-o,--output", p.output, {"name"}, "Print only kind/name of each deleted object");
  b.example("axon delete -f service.yaml");
  b.example("axon delete svc api -n production");
  b.example("axon delete cnp -l app=web --all-namespaces");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(delete, {"delete", "Delete objects by manifest, or by kind and name",
                               "Cluster", axon::commands::setup})
