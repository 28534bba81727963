// FlowFilter semantics of Hubble's GetFlows, shared by the observer server,
// the relay and `axon observe --input-file`.
//
// One FlowFilter matches a flow when every field it sets matches (AND); a
// repeated field matches when one of its values does (OR). A request's
// whitelist keeps a flow that matches any of its filters (every flow when it
// is empty); its blacklist drops a flow that matches any of its filters.
// Lost events and node status events pass every filter.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "flow/flow.pb.h"
#include "observer/observer.pb.h"

namespace axon::hubble {

using FlowFilters = google::protobuf::RepeatedPtrField<flow::FlowFilter>;

// One compiled FlowFilter: regular expressions, CIDRs and selectors parsed
// once. Immutable after compile, so any number of threads may match.
class FlowMatcher {
 public:
  // Errors name the field and the value ("source_ip: invalid IP address or
  // CIDR \"10.0.0.300\""); the server answers them with INVALID_ARGUMENT.
  static Result<FlowMatcher> compile(const flow::FlowFilter& filter);

  bool matches(const flow::Flow& f) const;

 private:
  std::vector<std::function<bool(const flow::Flow&)>> checks_;  // all must pass
};

// A request's whitelist and blacklist.
class FlowFilterSet {
 public:
  static Result<FlowFilterSet> compile(const FlowFilters& whitelist, const FlowFilters& blacklist);

  // Whether a flow passes: matches the whitelist (or there is none) and no
  // blacklist filter.
  bool allows(const flow::Flow& f) const;
  // Whether a response passes: flows as above; lost events and node status
  // always.
  bool allows(const observer::GetFlowsResponse& r) const;
  bool empty() const { return whitelist_.empty() && blacklist_.empty(); }

 private:
  std::vector<FlowMatcher> whitelist_, blacklist_;
};

// A Kubernetes-style label selector over Cilium labels ("k8s:app=api",
// "reserved:world"): comma-separated requirements `key`, `!key`, `key=v`,
// `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`. A key with a source
// prefix ("k8s:app") matches labels of that source only; without one
// ("app"), labels of any source.
class LabelSelector {
 public:
  static Result<LabelSelector> parse(const std::string& text);
  bool matches(const google::protobuf::RepeatedPtrField<std::string>& labels) const;

 private:
  struct Requirement {
    std::string source;  // "" = any
    std::string key;
    enum class Op { exists, not_exists, equals, not_equals, in, not_in } op = Op::exists;
    std::vector<std::string> values;
  };
  std::vector<Requirement> requirements_;
};

}  // namespace axon::hubble
