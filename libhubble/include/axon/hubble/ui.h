// What the web UI (`axon ui`, Hubble UI's job) shows: the recent flows of a
// namespace as table rows, and the service map built from them — one node
// per workload (or reserved entity: world, host...), one edge per
// source → destination → protocol/port with its connections counted as
// forwarded or dropped.
//
// FlowCache keeps the newest flows the UI server reads from the relay, each
// with a sequence number, so the page asks only for what it has not seen:
//
//   hubble::ui::FlowCache cache(10000);
//   cache.add(flow);                             // from the relay's stream
//   Json rows = cache.flows("production", 0, 500, "");   // {"flows": [...], "last": N}
//   Json map = cache.service_map("production");  // {"nodes": [...], "edges": [...]}
//
// Everything is JSON the page renders as is; thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "flow/flow.pb.h"

namespace axon::hubble::ui {

using Json = nlohmann::ordered_json;

// The service-map node an endpoint belongs to: its workload (Deployment...)
// or app label or pod name inside its namespace; reserved identities by
// their entity ("world", "host", "kube-apiserver"); else its IP.
struct MapNodeRef {
  std::string id;         // unique: "production/api", "reserved:world"
  std::string name;       // "api", "world"
  std::string ns;         // "" for reserved entities
  std::string kind;       // "workload", "pod", "entity", "ip"
};
MapNodeRef map_node(const flow::Endpoint& ep, const std::string& ip);

// One flow as a table row: time (RFC 3339), node, verdict, reason (drop
// reason text for drops), type, source and destination (namespace, pod,
// workload, identity, ip, port, map node id), protocol, TCP flags, reply,
// direction, summary.
Json flow_row(const flow::Flow& f, uint64_t seq);

class FlowCache {
 public:
  explicit FlowCache(size_t capacity);

  void add(const flow::Flow& f);
  // Flows the UI's stream lost (the relay or an agent said so).
  void add_lost(uint64_t n);
  // Namespaces that extra sources know (the store), merged into namespaces().
  void set_known_namespaces(std::set<std::string> ns);

  // Sorted namespaces of the cached flows and the known ones.
  Json namespaces() const;
  // Rows with seq > after whose source or destination is in `ns` ("" = any)
  // and whose verdict is `verdict` ("" = any), oldest first, at most `limit`
  // (the newest ones); "last" is the newest seq the cache holds, to pass as
  // `after` next time.
  Json flows(const std::string& ns, uint64_t after, size_t limit, const std::string& verdict) const;
  // The map of the cached flows touching `ns` ("" = all). Replies do not
  // make edges (they go the other way of the connection). Edges count
  // connections (source and destination address and port, protocol): one
  // is dropped when any of its packets was, wherever it was seen.
  Json service_map(const std::string& ns) const;
  // The newest cached flow's time (Unix ns), 0 when empty: where a
  // reconnected stream picks up.
  int64_t newest_time_ns() const;
  // seen, lost, cached and capacity.
  Json stats() const;

 private:
  struct Entry {
    uint64_t seq;
    flow::Flow flow;
  };
  size_t capacity_;
  mutable std::mutex mu_;
  std::deque<Entry> flows_;
  uint64_t seq_ = 0;
  uint64_t lost_ = 0;
  std::set<std::string> known_ns_;
};

}  // namespace axon::hubble::ui
