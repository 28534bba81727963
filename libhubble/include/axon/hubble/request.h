// `hubble observe` flags -> a GetFlowsRequest, exactly as hubble builds it
// (HV hubble/cmd/observe/flows.go, flows_filter.go):
// - the same filter flag repeated appends to one field (OR); different flags
//   set different fields of the same FlowFilter (AND);
// - `--not` sends the one filter flag after it to the blacklist;
// - two-sided flags (--ip, --pod, --label, --service, --port, --identity,
//   --fqdn, --workload, --cluster, --namespace) build two FlowFilters, the
//   left with the source_* field, the right with destination_*; every other
//   flag goes into both; equal filters are sent once;
// - namespaces are applied last: to the pod and service names without one,
//   or as "ns/" (every pod of the namespace) when there are none;
// - conflicting flags are refused: "filters --ip and --from-ip cannot be
//   combined", as are conflicting selectors ("cannot set both --first and
//   --last");
// - without a selector, the last 20 flows (not with --input-file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "observer/observer.pb.h"

namespace axon::hubble {

// One filter flag as given, in command-line order: {"not", ""},
// {"from-pod", "default/client"}, {"all-namespaces", "true"}.
struct FilterFlag {
  std::string name;  // without dashes
  std::string value;
};

// The names of every filter flag (for the CLI to pick them from its parse).
const std::vector<std::string>& filter_flag_names();

struct Selectors {
  uint64_t last = 0;
  uint64_t first = 0;
  bool all = false;
  bool follow = false;
  std::string since;
  std::string until;
  bool input_file = false;  // no default --last 20 when reading a file
};

struct RequestOptions {
  Selectors selectors;
  std::vector<FilterFlag> filters;
  std::vector<std::string> allowlist;  // FlowFilter JSON (--allowlist)
  std::vector<std::string> denylist;
  std::vector<std::string> field_mask;  // Flow field paths ("source.identity")
  int64_t now_ns = 0;                   // for relative --since/--until
};

// Errors are the user's (exit 2), worded as hubble's.
Result<observer::GetFlowsRequest> build_flows_request(const RequestOptions& options);

// --print-raw-filters: the request's allowlist and denylist as YAML, each
// filter one JSON line (proto field names), as hubble prints them:
//   allowlist:
//       - '{"source_pod":["default/"]}'
std::string raw_filters_yaml(const observer::GetFlowsRequest& req);

// The Flow fields the compact, dict and table printers need (what hubble
// requests by default with those outputs).
const std::vector<std::string>& default_field_mask();

}  // namespace axon::hubble
