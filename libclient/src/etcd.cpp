#include "axon/client/etcd.h"

#include <grpcpp/grpcpp.h>

#include <atomic>

#include "etcd/rpc.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace axon::client {
namespace pb = etcdserverpb;

namespace {

constexpr auto kCallTimeout = std::chrono::seconds(10);

void deadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
}

Error rpc_error(const std::string& what, const grpc::Status& st) {
  return Error{"etcd " + what + ": " + st.error_message() + " (gRPC code " +
               std::to_string(static_cast<int>(st.error_code())) + ")"};
}

EtcdKeyValue from_pb(const pb::KeyValue& kv) {
  return EtcdKeyValue{kv.key(),          kv.value(),   kv.create_revision(),
                      kv.mod_revision(), kv.version(), kv.lease()};
}

}  // namespace

std::string prefix_range_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::string(1, '\0');  // every key
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

struct EtcdClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::unique_ptr<pb::Lease::Stub> lease;
};

EtcdClient::EtcdClient(std::string target, std::unique_ptr<Impl> impl)
    : target_(std::move(target)), impl_(std::move(impl)) {}

EtcdClient::~EtcdClient() = default;

Result<std::unique_ptr<EtcdClient>> EtcdClient::connect(const std::string& target,
                                                        std::chrono::milliseconds timeout) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // large lists: etcd sends up to MaxInt32
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  auto health = grpc::health::v1::Health::NewStub(channel);
  const auto until = std::chrono::system_clock::now() + timeout;
  grpc::Status last;
  for (;;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::min(until, std::chrono::system_clock::now() + std::chrono::seconds(2)));
    ctx.set_wait_for_ready(true);
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    last = health->Check(&ctx, req, &resp);
    if (last.ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) break;
    if (std::chrono::system_clock::now() >= until) {
      return Error{"etcd at " + target + " is not answering: " +
                   (last.ok() ? std::string("not serving") : last.error_message())};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto impl = std::make_unique<Impl>();
  impl->channel = channel;
  impl->kv = pb::KV::NewStub(channel);
  impl->watch = pb::Watch::NewStub(channel);
  impl->lease = pb::Lease::NewStub(channel);
  return std::unique_ptr<EtcdClient>(new EtcdClient(target, std::move(impl)));
}

Result<std::optional<EtcdKeyValue>> EtcdClient::get(const std::string& key, int64_t* revision) {
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::RangeRequest req;
  req.set_key(key);
  pb::RangeResponse resp;
  auto st = impl_->kv->Range(&ctx, req, &resp);
  if (!st.ok()) return rpc_error("get " + key, st);
  if (revision != nullptr) *revision = resp.header().revision();
  if (resp.kvs_size() == 0) return std::optional<EtcdKeyValue>();
  return std::optional<EtcdKeyValue>(from_pb(resp.kvs(0)));
}

Result<std::vector<EtcdKeyValue>> EtcdClient::list(const std::string& prefix, int64_t* revision) {
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::RangeRequest req;
  req.set_key(prefix);
  req.set_range_end(prefix_range_end(prefix));
  pb::RangeResponse resp;
  auto st = impl_->kv->Range(&ctx, req, &resp);
  if (!st.ok()) return rpc_error("list " + prefix, st);
  if (revision != nullptr) *revision = resp.header().revision();
  std::vector<EtcdKeyValue> out;
  out.reserve(static_cast<size_t>(resp.kvs_size()));
  for (const auto& kv : resp.kvs()) out.push_back(from_pb(kv));
  return out;
}

Result<int64_t> EtcdClient::put(const std::string& key, const std::string& value, int64_t lease) {
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease);
  pb::PutResponse resp;
  auto st = impl_->kv->Put(&ctx, req, &resp);
  if (!st.ok()) return rpc_error("put " + key, st);
  return resp.header().revision();
}

Result<std::optional<int64_t>> EtcdClient::put_if(const std::string& key, const std::string& value,
                                                  int64_t expected, int64_t lease) {
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::TxnRequest req;
  auto* cmp = req.add_compare();
  cmp->set_key(key);
  cmp->set_result(pb::Compare::EQUAL);
  if (expected == 0) {
    cmp->set_target(pb::Compare::CREATE);
    cmp->set_create_revision(0);  // absent
  } else {
    cmp->set_target(pb::Compare::MOD);
    cmp->set_mod_revision(expected);
  }
  auto* put = req.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  pb::TxnResponse resp;
  auto st = impl_->kv->Txn(&ctx, req, &resp);
  if (!st.ok()) return rpc_error("put " + key, st);
  if (!resp.succeeded()) return std::optional<int64_t>();
  return std::optional<int64_t>(resp.header().revision());
}

Result<bool> EtcdClient::remove(const std::string& key) {
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::DeleteRangeRequest req;
  req.set_key(key);
  pb::DeleteRangeResponse resp;
  auto st = impl_->kv->DeleteRange(&ctx, req, &resp);
  if (!st.ok()) return rpc_error("delete " + key, st);
  return resp.deleted() > 0;
}

Status EtcdClient::compact(int64_t revision) {
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::CompactionRequest req;
  req.set_revision(revision);
  req.set_physical(true);  // returns once the history is gone, not before
  pb::CompactionResponse resp;
  auto st = impl_->kv->Compact(&ctx, req, &resp);
  if (!st.ok()) return rpc_error("compact at revision " + std::to_string(revision), st);
  return {};
}

Result<std::optional<bool>> EtcdClient::remove_if(const std::string& key, int64_t expected) {
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::TxnRequest req;
  auto* cmp = req.add_compare();
  cmp->set_key(key);
  cmp->set_result(pb::Compare::EQUAL);
  cmp->set_target(pb::Compare::MOD);
  cmp->set_mod_revision(expected);
  req.add_success()->mutable_request_delete_range()->set_key(key);
  pb::TxnResponse resp;
  auto st = impl_->kv->Txn(&ctx, req, &resp);
  if (!st.ok()) return rpc_error("delete " + key, st);
  if (!resp.succeeded()) return std::optional<bool>();
  return std::optional<bool>(resp.responses(0).response_delete_range().deleted() > 0);
}

Result<int64_t> EtcdClient::remove_prefix(const std::string& prefix) {
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::DeleteRangeRequest req;
  req.set_key(prefix);
  req.set_range_end(prefix_range_end(prefix));
  pb::DeleteRangeResponse resp;
  auto st = impl_->kv->DeleteRange(&ctx, req, &resp);
  if (!st.ok()) return rpc_error("delete " + prefix + "*", st);
  return resp.deleted();
}

Result<int64_t> EtcdClient::grant_lease(int64_t ttl_seconds) {
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::LeaseGrantRequest req;
  req.set_ttl(ttl_seconds);
  pb::LeaseGrantResponse resp;
  auto st = impl_->lease->LeaseGrant(&ctx, req, &resp);
  if (!st.ok()) return rpc_error("lease grant", st);
  if (!resp.error().empty()) return Error{"etcd lease grant: " + resp.error()};
  return resp.id();
}

Result<int64_t> EtcdClient::keep_alive(int64_t lease) {
  grpc::ClientContext ctx;
  deadline(ctx);
  auto stream = impl_->lease->LeaseKeepAlive(&ctx);
  pb::LeaseKeepAliveRequest req;
  req.set_id(lease);
  pb::LeaseKeepAliveResponse resp;
  if (!stream->Write(req) || !stream->Read(&resp)) {
    stream->WritesDone();
    return rpc_error("lease keepalive", stream->Finish());
  }
  stream->WritesDone();
  auto st = stream->Finish();
  if (!st.ok()) return rpc_error("lease keepalive", st);
  return resp.ttl();
}

Status EtcdClient::revoke_lease(int64_t lease) {
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::LeaseRevokeRequest req;
  req.set_id(lease);
  pb::LeaseRevokeResponse resp;
  auto st = impl_->lease->LeaseRevoke(&ctx, req, &resp);
  if (!st.ok() && st.error_code() != grpc::StatusCode::NOT_FOUND)
    return rpc_error("lease revoke", st);
  return {};
}

// --- watch -------------------------------------------------------------

struct EtcdWatch::Impl {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> stream;
  std::thread reader;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<EtcdWatchBatch> queue;
  bool done = false;

  void push(EtcdWatchBatch b) {
    std::lock_guard lock(mu);
    queue.push_back(std::move(b));
    cv.notify_all();
  }

  void read_loop() {
    pb::WatchResponse resp;
    while (stream->Read(&resp)) {
      if (resp.created() && !resp.canceled()) continue;
      if (resp.events_size() == 0 && !resp.canceled()) continue;  // progress notification
      EtcdWatchBatch b;
      b.revision = resp.header().revision();
      b.canceled = resp.canceled();
      b.compact_revision = resp.compact_revision();
      b.reason = resp.cancel_reason();
      for (const auto& e : resp.events()) {
        EtcdEvent ev;
        ev.type = e.type() == pb::Event::DELETE ? EtcdEvent::Type::remove : EtcdEvent::Type::put;
        ev.kv = from_pb(e.kv());
        ev.prev_kv = from_pb(e.prev_kv());
        b.events.push_back(std::move(ev));
      }
      const bool end = b.canceled;
      push(std::move(b));
      if (end) break;
    }
    auto st = stream->Finish();
    std::lock_guard lock(mu);
    if (!done) {
      EtcdWatchBatch b;
      b.canceled = true;
      b.reason = st.ok() ? "watch stream ended" : st.error_message();
      queue.push_back(std::move(b));
    }
    done = true;
    cv.notify_all();
  }
};

EtcdWatch::EtcdWatch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EtcdWatch::~EtcdWatch() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->done = true;
  }
  impl_->ctx.TryCancel();
  if (impl_->reader.joinable()) impl_->reader.join();
}

std::optional<EtcdWatchBatch> EtcdWatch::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  if (!impl_->cv.wait_for(lock, timeout, [&] { return !impl_->queue.empty(); }))
    return std::nullopt;
  EtcdWatchBatch b = std::move(impl_->queue.front());
  impl_->queue.pop_front();
  return b;
}

Result<std::unique_ptr<EtcdWatch>> EtcdClient::watch(const std::string& prefix,
                                                     int64_t start_revision, bool prev_kv) {
  auto impl = std::make_unique<EtcdWatch::Impl>();
  impl->stream = impl_->watch->Watch(&impl->ctx);
  pb::WatchRequest req;
  auto* create = req.mutable_create_request();
  create->set_key(prefix);
  create->set_range_end(prefix_range_end(prefix));
  create->set_start_revision(start_revision);
  create->set_prev_kv(prev_kv);
  if (!impl->stream->Write(req)) return rpc_error("watch " + prefix, impl->stream->Finish());
  // The first reply confirms the watch (or says why not).
  pb::WatchResponse first;
  if (!impl->stream->Read(&first)) return rpc_error("watch " + prefix, impl->stream->Finish());
  if (first.canceled()) return Error{"etcd watch " + prefix + ": " + first.cancel_reason()};
  auto* raw = impl.get();
  impl->reader = std::thread([raw] { raw->read_loop(); });
  return std::unique_ptr<EtcdWatch>(new EtcdWatch(std::move(impl)));
}

}  // namespace axon::client
