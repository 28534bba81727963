// What `axon apply`, `axon delete` and `axon get` share: reading the
// manifests of -f and reporting their problems, the cluster connection,
// kubectl's NotFound wording.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "axon/client/apply.h"
#include "axon/client/cluster_store.h"
#include "cli/context.h"

namespace axon::commands {

// The store of the selected cluster; prints why not and returns null.
std::unique_ptr<client::ClusterStore> connect_or_report(cli::Context& ctx);

// Prints the diagnostics; when any is an error, says "<what>" was not done
// and returns true.
bool report_problems(cli::Context& ctx, const std::vector<client::Diagnostic>& problems,
                     const std::string& nothing_done);

// kubectl's: Error from server (NotFound): services "api" not found
std::string not_found_message(const client::ResourceInfo& r, const std::string& name,
                              const std::string& file = "", const std::string& verb = "");

// Prints JSON as kubectl does (4-space indent) or YAML.
void print_objects(cli::Context& ctx, const std::string& format, const client::Json& doc);

}  // namespace axon::commands
