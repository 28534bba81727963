// A small etcd v3 client over gRPC (proto/etcd/rpc.proto): keys and
// values, compare-and-swap writes, prefix watches, leases. The lab keeps its
// cluster state in etcd, as Cilium did in kvstore mode.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "axon/base/result.h"

namespace axon::client {

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct EtcdEvent {
  enum class Type { put, remove };
  Type type = Type::put;
  EtcdKeyValue kv;       // for a removal: only key and mod_revision
  EtcdKeyValue prev_kv;  // the value before (when the watch asked for it)
};

// One batch from a watch: events in revision order, or the watch's end.
struct EtcdWatchBatch {
  std::vector<EtcdEvent> events;
  int64_t revision = 0;          // store revision of the response
  bool canceled = false;         // the watch ended; see compact_revision/reason
  int64_t compact_revision = 0;  // != 0: start revision was compacted: list again
  std::string reason;
};

class EtcdClient;

// A prefix watch. Events are read on a background thread and handed out by
// next(); destroying the watch cancels it.
class EtcdWatch {
 public:
  ~EtcdWatch();
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;

  // The next batch, or nullopt when `timeout` passes first.
  std::optional<EtcdWatchBatch> next(std::chrono::milliseconds timeout);

 private:
  friend class EtcdClient;
  struct Impl;
  explicit EtcdWatch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class EtcdClient {
 public:
  // target: a gRPC target, e.g. "unix:/run/axon/lab/etcd.sock:0". Waits up
  // to `timeout` for etcd to answer its health check.
  static Result<std::unique_ptr<EtcdClient>> connect(const std::string& target,
                                                     std::chrono::milliseconds timeout);
  ~EtcdClient();

  const std::string& target() const { return target_; }

  // The key's value, or nullopt. `revision` (if given) gets the store revision.
  Result<std::optional<EtcdKeyValue>> get(const std::string& key, int64_t* revision = nullptr);
  // Every key under `prefix`, in key order.
  Result<std::vector<EtcdKeyValue>> list(const std::string& prefix, int64_t* revision = nullptr);
  // Unconditional write; returns the new revision.
  Result<int64_t> put(const std::string& key, const std::string& value, int64_t lease = 0);
  // Write only if the key's mod_revision is `expected` (0: the key must not
  // exist). Returns the new revision, or nullopt when the key changed meanwhile.
  Result<std::optional<int64_t>> put_if(const std::string& key, const std::string& value,
                                        int64_t expected, int64_t lease = 0);
  // Deletes the key; false when it was not there.
  Result<bool> remove(const std::string& key);
  // Deletes the key only if its mod_revision is `expected`; nullopt on conflict.
  Result<std::optional<bool>> remove_if(const std::string& key, int64_t expected);
  // Deletes every key under `prefix`; returns how many.
  Result<int64_t> remove_prefix(const std::string& prefix);
  // Forgets the history before `revision` (watches from older revisions
  // end with compact_revision set), as etcd's periodic compaction does.
  Status compact(int64_t revision);

  // Leases: keys written with a lease disappear when it expires or is revoked.
  Result<int64_t> grant_lease(int64_t ttl_seconds);
  // Renews; returns the remaining TTL, 0 when the lease no longer exists.
  Result<int64_t> keep_alive(int64_t lease);
  Status revoke_lease(int64_t lease);

  // Watches `prefix` from `start_revision` (inclusive; 0 = from now).
  Result<std::unique_ptr<EtcdWatch>> watch(const std::string& prefix, int64_t start_revision,
                                           bool prev_kv = false);

 private:
  struct Impl;
  explicit EtcdClient(std::string target, std::unique_ptr<Impl> impl);
  std::string target_;
  std::unique_ptr<Impl> impl_;
};

// The end of a prefix range: "a/b/" -> "a/b0".
std::string prefix_range_end(const std::string& prefix);

}  // namespace axon::client
