// How `axon get` shows objects: kubectl's table columns for the built-in
// kinds, the printer columns of the CRDs for Cilium's and Gateway API's
// kinds, ages as kubectl writes them, and the List kubectl prints for
// `-o json` / `-o yaml`. Pure functions of the objects and "now", so the
// output is testable to the character.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "axon/client/resources.h"
#include "axon/client/yaml.h"

namespace axon::client {

using SystemTime = std::chrono::system_clock::time_point;

// kubectl's HumanDuration: "5s", "119s", "2m", "3m20s", "10m", "3h", "2h5m",
// "9h", "2d", "3d4h", "30d", "2y", "2y30d"; "0s" just under 0 (clock
// skew), "<invalid>" for larger negative durations.
std::string human_duration(std::chrono::seconds d);

// "2026-11-27T16:28:00Z" (fractional seconds and numeric offsets accepted).
std::optional<SystemTime> parse_rfc3339(const std::string& text);

// The AGE column: human_duration(now - metadata.creationTimestamp), or
// "<unknown>" without a timestamp.
std::string object_age(const Json& object, SystemTime now);

struct TableOptions {
  bool wide = false;              // -o wide: the extra columns
  bool namespace_column = false;  // -A: NAMESPACE first
  bool kind_prefix = false;       // several kinds: NAME as "service/api"
  bool show_labels = false;       // --show-labels: LABELS last
  SystemTime now = std::chrono::system_clock::now();
};

struct TableData {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// The table `kubectl get` prints for these objects of one kind.
TableData object_table(const ResourceInfo& resource, const std::vector<Json>& objects,
                       const TableOptions& options);

// kubectl's list document: {"apiVersion": "v1", "items": [...], "kind":
// "List", "metadata": {"resourceVersion": ""}}.
Json list_document(const std::vector<Json>& items);

// "No resources found in default namespace." / "No resources found"
// (cluster-scoped kinds, all namespaces).
std::string no_resources_message(const ResourceInfo& resource, const std::string& ns,
                                 bool all_namespaces);

}  // namespace axon::client
