// What the `axon policy` commands share: reading manifest files (a
// directory means its *.yaml, *.yml and *.json files), printing problems.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "axon/client/cluster_store.h"
#include "axon/policy/evaluate.h"
#include "axon/policy/model.h"
#include "axon/policy/problem.h"
#include "cli/context.h"

namespace axon::commands::policy_cli {

struct InputFile {
  std::string path;
  std::string text;
};

// Reads every file (directories expanded, sorted). Unreadable: UsageError.
std::vector<InputFile> read_inputs(const std::vector<std::string>& paths);

// The command that repairs a problem, for the "run:" hint.
std::string fix_command(const std::string& file);

// One problem line, "error:"/"warning:" colored on a terminal, with
// "; run: axon policy fix -f FILE -w" when the fix can repair it.
std::string problem_line(const policy::Problem& p, bool color);

// The problem as JSON fields.
nlohmann::ordered_json problem_json(const policy::Problem& p);

// Writes a file in place: a temporary file beside it, then rename.
void write_file(const std::string& path, const std::string& text);

// One policy object of the cluster store, decoded and validated.
struct StoredPolicy {
  policy::PolicyKind kind = policy::PolicyKind::cilium_network_policy;
  std::string ns;
  std::string name;
  std::optional<policy::Policy> policy;  // set when valid
  std::vector<policy::Problem> problems;
};

// Every CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and
// NetworkPolicy in the store (`ns` empty: all namespaces; cluster-wide
// policies always).
Result<std::vector<StoredPolicy>> store_policies(client::ClusterStore& store,
                                                 const std::string& ns);

// A pod of the store ("NS/POD") as policy sees it: its identity labels
// (with its namespace's labels and service account) and named ports.
struct StoredPod {
  policy::LabelSet labels;
  policy::NamedPorts named_ports;
};
Result<StoredPod> store_pod(client::ClusterStore& store, const std::string& ns_pod);

}  // namespace axon::commands::policy_cli
