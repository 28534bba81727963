#include "axon/hubble/relay.h"

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <limits>
#include <optional>
#include <set>
#include <thread>

#include "axon/base/build_info.h"
#include "axon/base/strings.h"
#include "axon/base/duration.h"
#include "axon/hubble/filter.h"
#include "axon/hubble/ring.h"
#include "batched_writer.h"

namespace axon::hubble {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;  // gRPC deadlines are system_clock

constexpr size_t kMaxUnavailableListed = 10;  // ServerStatus.unavailable_nodes
constexpr size_t kQueueCapacity = 1024;       // responses in flight from the nodes' threads
constexpr auto kTick = 100ms;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs fn(0..n-1) on n threads and waits for all.
template <typename Fn>
void parallel_for(size_t n, Fn fn) {
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t i = 0; i < n; ++i) threads.emplace_back([&fn, i] { fn(i); });
  for (auto& t : threads) t.join();
}

bool unix_socket_missing(const std::string& target) {
  if (!target.starts_with("unix:")) return false;
  std::string path = target.substr(target.starts_with("unix://") ? 7 : 5);
  struct stat st{};
  return ::stat(path.c_str(), &st) != 0;
}

observer::GetFlowsResponse node_status(relay::NodeState state, const std::vector<std::string>& names,
                                       const std::string& message, const std::string& relay_name) {
  observer::GetFlowsResponse r;
  auto* s = r.mutable_node_status();
  s->set_state_change(state);
  for (const auto& n : names) s->add_node_names(n);
  s->set_message(message);
  r.set_node_name(relay_name);
  set_unix_ns(r.mutable_time(), now_ns());
  return r;
}

// What the nodes' reader threads hand to the merging thread.
struct Item {
  size_t node = 0;
  std::optional<observer::GetFlowsResponse> response;  // empty: the stream ended
  grpc::Status status;
};

struct Inbox {
  std::mutex mu;
  std::condition_variable cv;       // items arrived / room freed
  std::deque<Item> items;
  bool closing = false;

  // Blocks while full; false once closing.
  bool push(Item item) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return items.size() < kQueueCapacity || closing; });
    if (closing) return false;
    items.push_back(std::move(item));
    cv.notify_all();
    return true;
  }
  // Takes everything there, waiting up to `wait` for something.
  std::deque<Item> take(std::chrono::milliseconds wait) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, wait, [&] { return !items.empty(); });
    std::deque<Item> out;
    out.swap(items);
    cv.notify_all();
    return out;
  }
  void close() {
    std::lock_guard lock(mu);
    closing = true;
    cv.notify_all();
  }
};

// The sort buffer: a min-heap on (time, arrival).
class SortBuffer {
 public:
  void push(observer::GetFlowsResponse r) {
    int64_t t = to_unix_ns(r.time());
    heap_.push_back({t, seq_++, std::chrono::steady_clock::now(), std::move(r)});
    std::push_heap(heap_.begin(), heap_.end(), Later());
  }
  size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }
  int64_t oldest_time() const { return heap_.front().time; }
  // When the entry that has waited longest arrived (the buffer is small).
  std::chrono::steady_clock::time_point oldest_arrival() const {
    auto t = heap_.front().arrived;
    for (const auto& e : heap_) t = std::min(t, e.arrived);
    return t;
  }
  observer::GetFlowsResponse pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    auto r = std::move(heap_.back().response);
    heap_.pop_back();
    return r;
  }

 private:
  struct Entry {
    int64_t time;
    uint64_t seq;
    std::chrono::steady_clock::time_point arrived;
    observer::GetFlowsResponse response;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };
  std::vector<Entry> heap_;
  uint64_t seq_ = 0;
};

}  // namespace

RelayService::RelayService(std::shared_ptr<const UpstreamDiscovery> discovery, RelayOptions options)
    : discovery_(std::move(discovery)), options_(std::move(options)) {
  if (options_.version.empty()) options_.version = build_info::version;
  if (options_.sort_buffer == 0) options_.sort_buffer = 1;
  if (auto* m = options_.metrics) {
    metrics_.reset(new Metrics{
        m->gauge("hubble_relay_pool_peer_connection_status",
                 "Peers (node agents) by the state of the relay's connection to them", {"status"}),
        m->counter("hubble_relay_get_flows_requests_total", "GetFlows calls the relay served",
                   {"follow"}),
        m->counter("hubble_relay_flows_forwarded_total", "Flows the relay wrote to its clients"),
        m->counter("hubble_relay_node_errors_total",
                   "Nodes reported unavailable or failing to a client", {"node", "status"})});
  }
}

void RelayService::count_node_errors(const std::vector<std::string>& nodes, const char* status) {
  if (!metrics_) return;
  for (const auto& n : nodes) metrics_->node_errors.add({n, status});
}

void RelayService::refresh_metrics() {
  if (!metrics_) return;
  std::map<std::string, double> by_state = {
      {"CONNECTED", 0}, {"CONNECTING", 0}, {"IDLE", 0}, {"TRANSIENT_FAILURE", 0}};
  for (const auto& u : discovery_->upstreams()) {
    std::shared_ptr<grpc::Channel> ch;
    {
      std::lock_guard lock(mu_);
      if (auto it = channels_.find(u.target); it != channels_.end()) ch = it->second;
    }
    switch (ch ? ch->GetState(false) : GRPC_CHANNEL_IDLE) {
      case GRPC_CHANNEL_READY: by_state["CONNECTED"] += 1; break;
      case GRPC_CHANNEL_CONNECTING: by_state["CONNECTING"] += 1; break;
      case GRPC_CHANNEL_TRANSIENT_FAILURE: by_state["TRANSIENT_FAILURE"] += 1; break;
      default: by_state["IDLE"] += 1; break;
    }
  }
  for (const auto& [state, n] : by_state) metrics_->peers.set({state}, n);
}

std::shared_ptr<grpc::Channel> RelayService::channel(const std::string& target) {
  std::lock_guard lock(mu_);
  auto& ch = channels_[target];
  if (!ch) {
    grpc::ChannelArguments args;
    // A node that comes back is found again within a second.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    ch = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  return ch;
}

std::vector<std::shared_ptr<grpc::Channel>> RelayService::connect_all(
    const std::vector<Upstream>& ups) {
  std::vector<std::shared_ptr<grpc::Channel>> out(ups.size());
  parallel_for(ups.size(), [&](size_t i) {
    if (unix_socket_missing(ups[i].target)) return;
    auto ch = channel(ups[i].target);
    if (ch->GetState(true) == GRPC_CHANNEL_READY ||
        ch->WaitForConnected(Clock::now() + options_.dial_timeout)) {
      out[i] = ch;
    }
  });
  return out;
}

std::vector<std::unique_ptr<observer::ServerStatusResponse>> RelayService::statuses(
    const std::vector<Upstream>& ups) {
  auto channels = connect_all(ups);
  std::vector<std::unique_ptr<observer::ServerStatusResponse>> out(ups.size());
  parallel_for(ups.size(), [&](size_t i) {
    if (!channels[i]) return;
    auto stub = observer::Observer::NewStub(channels[i]);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
    auto r = std::make_unique<observer::ServerStatusResponse>();
    if (stub->ServerStatus(&ctx, observer::ServerStatusRequest(), r.get()).ok()) out[i] = std::move(r);
  });
  return out;
}

grpc::Status RelayService::GetFlows(grpc::ServerContext* ctx, const observer::GetFlowsRequest* req,
                                    grpc::ServerWriter<observer::GetFlowsResponse>* writer) {
  if (req->first() && req->follow()) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "first cannot be specified with follow"};
  }
  if (auto f = FlowFilterSet::compile(req->whitelist(), req->blacklist()); !f) {
    return {grpc::StatusCode::INVALID_ARGUMENT, f.error().message};
  }
  const auto ups = discovery_->upstreams();
  if (ups.empty()) {
    return {grpc::StatusCode::UNAVAILABLE, "the relay knows no nodes to read flows from"};
  }
  ctx->AddInitialMetadata(kRelayVersionHeader, options_.version);
  writer->SendInitialMetadata();

  if (metrics_) metrics_->requests.add({req->follow() ? "true" : "false"});
  auto channels = connect_all(ups);
  std::vector<std::string> connected, unavailable;
  for (size_t i = 0; i < ups.size(); ++i) (channels[i] ? connected : unavailable).push_back(ups[i].name);
  count_node_errors(unavailable, "UNAVAILABLE");
  if (!connected.empty() &&
      !writer->Write(node_status(relay::NODE_CONNECTED, connected, "", options_.name))) {
    return grpc::Status::CANCELLED;
  }
  if (!unavailable.empty()) {
    if (!writer->Write(node_status(relay::NODE_UNAVAILABLE, unavailable, "", options_.name)))
      return grpc::Status::CANCELLED;
  }
  if (connected.empty()) {
    return {grpc::StatusCode::UNAVAILABLE,
            "none of the " + std::to_string(ups.size()) + " nodes answered within " +
                format_duration(options_.dial_timeout) + ": " + join(unavailable, ", ")};
  }

  // One reader thread per connected node.
  Inbox inbox;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts(ups.size());
  std::vector<std::thread> readers;
  std::vector<bool> done(ups.size(), true), seen(ups.size(), false);
  std::vector<int64_t> newest(ups.size(), std::numeric_limits<int64_t>::min());
  for (size_t i = 0; i < ups.size(); ++i) {
    if (!channels[i]) continue;
    done[i] = false;
    contexts[i] = std::make_unique<grpc::ClientContext>();
    readers.emplace_back([&, i] {
      auto stub = observer::Observer::NewStub(channels[i]);
      auto stream = stub->GetFlows(contexts[i].get(), *req);
      observer::GetFlowsResponse r;
      while (stream->Read(&r)) {
        if (r.node_name().empty()) r.set_node_name(ups[i].name);
        if (!inbox.push({i, std::move(r), {}})) break;
        r.Clear();
      }
      Item end{i, std::nullopt, stream->Finish()};
      inbox.push(std::move(end));
    });
  }
  auto shutdown = [&] {
    inbox.close();
    for (auto& c : contexts) {
      if (c) c->TryCancel();
    }
    for (auto& t : readers) t.join();
  };

  SortBuffer buffer;
  bool client_gone = false;
  // What one merge round sends goes out as one burst (batched_writer.h),
  // flushed at the end of the round, so nothing waits past it.
  BatchedWriter<observer::GetFlowsResponse> out(writer, [this](const auto& r) {
    if (metrics_ && r.has_flow()) metrics_->forwarded.add({});
  });
  auto send = [&](observer::GetFlowsResponse r) {
    if (!client_gone && !out.push(std::move(r))) client_gone = true;
  };
  auto flush_sent = [&] {
    if (!client_gone && !out.flush()) client_gone = true;
  };
  // A flow can go once no live node can still send an older one.
  auto watermark = [&]() -> std::optional<int64_t> {
    int64_t w = std::numeric_limits<int64_t>::max();
    for (size_t i = 0; i < ups.size(); ++i) {
      if (done[i]) continue;
      if (!seen[i]) return std::nullopt;
      w = std::min(w, newest[i]);
    }
    return w;
  };
  for (;;) {
    if (ctx->IsCancelled() || client_gone) {
      shutdown();
      return grpc::Status::CANCELLED;
    }
    for (auto& item : inbox.take(kTick)) {
      const size_t i = item.node;
      if (!item.response) {
        // The relay cancels its streams only when it stops merging, so any
        // failure seen here is the node's (a node shutting down cancels).
        done[i] = true;
        if (!item.status.ok()) {
          count_node_errors({ups[i].name}, "ERROR");
          send(node_status(relay::NODE_ERROR, {ups[i].name}, item.status.error_message(),
                           options_.name));
        }
        continue;
      }
      if (item.response->has_node_status()) {
        send(std::move(*item.response));
        continue;
      }
      int64_t t = to_unix_ns(item.response->time());
      newest[i] = std::max(newest[i], t);
      seen[i] = true;
      buffer.push(std::move(*item.response));
      if (buffer.size() > options_.sort_buffer) send(buffer.pop());
    }
    if (auto w = watermark()) {
      while (!buffer.empty() && buffer.oldest_time() <= *w) send(buffer.pop());
    }
    // Nothing waits longer than the drain timeout for a quiet node (by
    // arrival: flow times may be anything).
    const auto stale = std::chrono::steady_clock::now() - options_.drain_timeout;
    while (!buffer.empty() && buffer.oldest_arrival() < stale) send(buffer.pop());
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) {
      while (!buffer.empty()) send(buffer.pop());
      flush_sent();
      shutdown();
      return client_gone ? grpc::Status::CANCELLED : grpc::Status::OK;
    }
    flush_sent();
  }
}

grpc::Status RelayService::ServerStatus(grpc::ServerContext* ctx,
                                        const observer::ServerStatusRequest*,
                                        observer::ServerStatusResponse* resp) {
  ctx->AddInitialMetadata(kRelayVersionHeader, options_.version);
  auto ups = discovery_->upstreams();
  auto all = statuses(ups);
  uint32_t connected = 0, unavailable = 0;
  for (size_t i = 0; i < ups.size(); ++i) {
    const auto& s = all[i];
    if (!s) {
      ++unavailable;
      if (static_cast<size_t>(resp->unavailable_nodes_size()) < kMaxUnavailableListed)
        resp->add_unavailable_nodes(ups[i].name);
      continue;
    }
    ++connected;
    resp->set_num_flows(resp->num_flows() + s->num_flows());
    resp->set_max_flows(resp->max_flows() + s->max_flows());
    resp->set_seen_flows(resp->seen_flows() + s->seen_flows());
    resp->set_flows_rate(resp->flows_rate() + s->flows_rate());
    resp->set_uptime_ns(std::max(resp->uptime_ns(), s->uptime_ns()));
  }
  resp->mutable_num_connected_nodes()->set_value(connected);
  resp->mutable_num_unavailable_nodes()->set_value(unavailable);
  resp->set_version(options_.version);
  return grpc::Status::OK;
}

grpc::Status RelayService::GetNodes(grpc::ServerContext* ctx, const observer::GetNodesRequest*,
                                    observer::GetNodesResponse* resp) {
  ctx->AddInitialMetadata(kRelayVersionHeader, options_.version);
  auto ups = discovery_->upstreams();
  auto all = statuses(ups);
  std::vector<size_t> order(ups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ups[a].name < ups[b].name; });
  for (size_t i : order) {
    auto* n = resp->add_nodes();
    n->set_name(ups[i].name);
    n->set_address(ups[i].address.empty() ? ups[i].target : ups[i].address);
    n->mutable_tls()->set_enabled(false);
    if (!all[i]) {
      n->set_state(relay::NODE_UNAVAILABLE);
      continue;
    }
    n->set_state(relay::NODE_CONNECTED);
    n->set_version(all[i]->version());
    n->set_uptime_ns(all[i]->uptime_ns());
    n->set_num_flows(all[i]->num_flows());
    n->set_max_flows(all[i]->max_flows());
    n->set_seen_flows(all[i]->seen_flows());
  }
  return grpc::Status::OK;
}

grpc::Status RelayService::GetNamespaces(grpc::ServerContext* ctx,
                                         const observer::GetNamespacesRequest*,
                                         observer::GetNamespacesResponse* resp) {
  ctx->AddInitialMetadata(kRelayVersionHeader, options_.version);
  auto ups = discovery_->upstreams();
  auto channels = connect_all(ups);
  std::vector<observer::GetNamespacesResponse> answers(ups.size());
  parallel_for(ups.size(), [&](size_t i) {
    if (!channels[i]) return;
    auto stub = observer::Observer::NewStub(channels[i]);
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
    (void)stub->GetNamespaces(&c, observer::GetNamespacesRequest(), &answers[i]);
  });
  std::set<std::pair<std::string, std::string>> all;
  for (const auto& a : answers) {
    for (const auto& n : a.namespaces()) all.emplace(n.cluster(), n.namespace_());
  }
  for (const auto& [cluster, ns] : all) {
    auto* n = resp->add_namespaces();
    n->set_cluster(cluster);
    n->set_namespace_(ns);
  }
  return grpc::Status::OK;
}

grpc::Status RelayService::GetAgentEvents(grpc::ServerContext*,
                                          const observer::GetAgentEventsRequest*,
                                          grpc::ServerWriter<observer::GetAgentEventsResponse>*) {
  return {grpc::StatusCode::UNIMPLEMENTED, "the relay does not relay agent events"};
}

grpc::Status RelayService::GetDebugEvents(grpc::ServerContext*,
                                          const observer::GetDebugEventsRequest*,
                                          grpc::ServerWriter<observer::GetDebugEventsResponse>*) {
  return {grpc::StatusCode::UNIMPLEMENTED, "the relay does not relay debug events"};
}

}  // namespace axon::hubble
