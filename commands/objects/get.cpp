// axon get: objects of the cluster as kubectl shows them: tables with
// kubectl's columns, or the List of -o json / -o yaml that scripts read.
#include <chrono>

#include "axon/base/strings.h"
#include "axon/client/printers.h"
#include "axon/client/resources.h"
#include "cli/command.h"
#include "cli/output.h"
#include "cli/cluster.h"
#include "cli/diagnostics.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct GetParams {
  std::vector<std::string> args;
  std::string namespace_ = "default";
  bool all_namespaces = false;
  std::string selector;
  std::string output;
  bool show_labels = false;
  bool no_headers = false;
};

// One kind asked for, with the names asked for (none: list them).
struct Request {
  client::ResourceInfo resource;
  std::vector<std::string> names;
  std::vector<client::Json> found;
};

// kubectl's "all" category, as far as axon serves its kinds.
const std::vector<std::string> kAll = {"pods", "services", "daemonsets", "deployments"};

client::ResourceInfo resolve_or_throw(const std::string& word) {
  auto r = client::resolve_resource(word);
  if (!r) throw cli::UsageError(r.error().message);
  return *r;
}

std::vector<Request> parse_requests(const GetParams& p, bool& several_kinds) {
  std::vector<Request> out;
  several_kinds = false;
  if (p.args.front().find('/') != std::string::npos) {
    for (const auto& a : p.args) {
      auto slash = a.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == a.size()) {
        throw cli::UsageError("\"" + a +
                              "\": when one argument is KIND/NAME, all must be (there "
                              "is no need to give the kind separately)");
      }
      auto r = resolve_or_throw(a.substr(0, slash));
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const Request& q) { return q.resource.kind == r.kind; });
      if (it == out.end()) {
        out.push_back(Request{r, {}, {}});
        it = out.end() - 1;
      }
      it->names.push_back(a.substr(slash + 1));
    }
    several_kinds = out.size() > 1;
    return out;
  }
  std::vector<std::string> words;
  std::string cur;
  for (char c : p.args.front() + ",") {
    if (c != ',') {
      cur += c;
    } else if (!cur.empty()) {
      if (to_lower(cur) == "all") {
        words.insert(words.end(), kAll.begin(), kAll.end());
        several_kinds = true;
      } else {
        words.push_back(cur);
      }
      cur.clear();
    }
  }
  if (words.empty()) throw cli::UsageError("no kind given: e.g. axon get pods");
  std::vector<std::string> names(p.args.begin() + 1, p.args.end());
  for (const auto& w : words) {
    auto r = resolve_or_throw(w);
    bool dup = std::any_of(out.begin(), out.end(),
                           [&](const Request& q) { return q.resource.kind == r.kind; });
    if (!dup) out.push_back(Request{r, names, {}});
  }
  several_kinds = several_kinds || out.size() > 1;
  return out;
}

int run(cli::Context& ctx, const GetParams& p) {
  if (p.args.empty()) {
    throw cli::UsageError(
        "you must specify the type of resource to get, e.g. axon get pods; kinds: " +
        join(client::resource_plurals(), ", "));
  }
  bool several = false;
  auto requests = parse_requests(p, several);
  bool named = std::any_of(requests.begin(), requests.end(),
                           [](const Request& r) { return !r.names.empty(); });
  if (named && p.all_namespaces)
    throw cli::UsageError("a resource cannot be retrieved by name across all namespaces");
  if (named && !p.selector.empty())
    throw cli::UsageError("name cannot be provided when a selector is specified");

  auto store = cli::connect_or_report(ctx);
  if (!store) return cli::kExitFailed;

  std::vector<std::string> errors;
  for (auto& q : requests) {
    const auto& r = q.resource;
    const std::string ns = r.namespaced ? p.namespace_ : "";
    if (q.names.empty()) {
      auto items = store->list(r.api_version(), r.kind, p.all_namespaces ? "" : ns, p.selector);
      if (!items) {
        ctx.err << "Error: " << items.error().str() << "\n";
        return cli::kExitFailed;
      }
      q.found = std::move(*items);
      continue;
    }
    for (const auto& name : q.names) {
      auto live = store->get(client::ObjectRef{r.api_version(), r.kind, ns, name});
      if (!live) {
        ctx.err << "Error: " << live.error().str() << "\n";
        return cli::kExitFailed;
      }
      if (*live) {
        q.found.push_back(std::move(**live));
      } else {
        errors.push_back(client::not_found_message(r, name));
      }
    }
  }

  size_t total = 0;
  for (const auto& q : requests) total += q.found.size();
  const bool one_named = requests.size() == 1 && requests.front().names.size() == 1;
  if (p.output == "json" || p.output == "yaml") {
    if (one_named) {
      if (total == 1) cli::print_objects(ctx.out, p.output, requests.front().found.front());
    } else {
      std::vector<client::Json> items;
      for (const auto& q : requests) items.insert(items.end(), q.found.begin(), q.found.end());
      cli::print_objects(ctx.out, p.output, client::list_document(items));
    }
  } else if (p.output == "name") {
    for (const auto& q : requests) {
      for (const auto& o : q.found) {
        ctx.out << client::kubectl_name(client::ObjectRef::of(o)) << "\n";
      }
    }
  } else {
    bool first = true;
    const auto now = std::chrono::system_clock::now();
    for (const auto& q : requests) {
      if (q.found.empty()) continue;
      client::TableOptions opt;
      opt.wide = p.output == "wide";
      opt.namespace_column = p.all_namespaces && q.resource.namespaced;
      opt.kind_prefix = several;
      opt.show_labels = p.show_labels;
      opt.now = now;
      auto data = client::object_table(q.resource, q.found, opt);
      cli::Table table(p.no_headers ? std::vector<std::string>{} : data.header);
      for (auto& row : data.rows) table.row(std::move(row));
      if (!first) ctx.out << "\n";
      first = false;
      table.print(ctx.out);
    }
    if (total == 0 && errors.empty()) {
      bool any_namespaced = std::any_of(requests.begin(), requests.end(),
                                        [](const Request& q) { return q.resource.namespaced; });
      client::ResourceInfo shown = requests.front().resource;
      shown.namespaced = any_namespaced;
      ctx.err << client::no_resources_message(shown, p.namespace_, p.all_namespaces) << "\n";
    }
  }
  for (const auto& e : errors) ctx.err << e << "\n";
  return errors.empty() ? cli::kExitOk : cli::kExitFailed;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<GetParams>();
  b.description(
      "Show objects of the cluster, as `kubectl get` does: KIND lists them (in -n NAMESPACE, "
      "default: default; -A: in every namespace; -l: those whose labels match), KIND NAME... or "
      "KIND/NAME... shows those. Kinds are accepted in kubectl's spellings (pods, pod, po, "
      "deployments.apps, cnp, ...), several separated by commas (pods,services), and `all` for "
      "pods, services, daemonsets and deployments.\n"
      "\n"
      "Tables have kubectl's columns (Pod: READY STATUS RESTARTS AGE; -o wide adds IP and NODE); "
      "Cilium's and Gateway API's kinds show their CRDs' printer columns. -o json and -o yaml "
      "print what kubectl prints: the object for one NAME, else a List "
      "({\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [...]}), so scripts written for "
      "kubectl's output keep working. Nothing found prints \"No resources found in default "
      "namespace.\" on stderr (exit 0); a NAME that does not exist is an error (exit 1).");
  b.suggest(b.positional_list("resources", p.args, "KIND [NAME...] or KIND/NAME..."),
            client::resource_plurals());
  b.group("Selection");
  b.option("-n,--namespace", p.namespace_, "NAMESPACE", "Namespace to look in");
  b.flag("-A,--all-namespaces", p.all_namespaces, "Look in every namespace");
  b.option("-l,--selector", p.selector, "SELECTOR",
           "Only objects whose labels match (app=api, tier!=db, env in (a,b), !canary)");
  b.group("Output");
  b.choice("-o,--output", p.output, {"wide", "yaml", "json", "name"},
           "wide: more columns; json/yaml: the objects as kubectl prints them; name: kind/name");
  b.flag("--show-labels", p.show_labels, "Add a LABELS column");
  b.flag("--no-headers", p.no_headers, "Leave out the header line");
  b.example("axon get pods -n production -o wide");
  b.example("axon get svc,deploy -A");
  b.example("axon get cnp -A -o yaml");
  b.example("axon get pods -o json | jq -r '.items[].status.phase'");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(get, {"get", "Show objects of the cluster, as kubectl get does", "Cluster",
                            axon::commands::setup})
