// One kind's objects kept in step with a cluster store, as client-go's
// informers do: list once, then watch from the list's version; a bookmark
// moves the version, a closed stream is watched again from the last
// version, "gone" (the version was compacted: 410) lists again; errors are
// retried with exponential backoff and jitter. Readers get the cached
// objects without asking the store, and a callback after every change.
//
//   Informer pods(store, "v1", "Pod");
//   pods.on_change([&] { wake_sync(); });
//   pods.start();
//   pods.wait_synced(10s);
//   for (const auto& p : pods.list()) ...
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "axon/client/cluster_store.h"

namespace axon::client {

class Informer {
 public:
  struct Stats {
    size_t lists = 0;    // list_versioned calls (the first, and relists)
    size_t watches = 0;  // watches opened
    size_t events = 0;   // add/modify/delete events applied
    size_t gone = 0;     // relists because the version was too old
    size_t errors = 0;   // failed lists and watches (then backoff)
  };

  // `store` must outlive the informer and be safe to use from its thread
  // (each informer needs its own store when the store is not thread-safe).
  Informer(ClusterStore& store, std::string api_version, std::string kind);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Called on the informer's thread after each batch of changes (and after
  // a relist); must be cheap (wake someone up).
  void on_change(std::function<void()> callback);

  void start();
  void stop();

  bool synced() const;
  bool wait_synced(std::chrono::milliseconds timeout) const;

  // The cached objects, in namespace/name order.
  std::vector<Json> list() const;
  std::optional<Json> get(const std::string& ns, const std::string& name) const;
  // Bumped on every change: callers compare it to skip work when nothing moved.
  uint64_t generation() const;
  // The last error of the list/watch loop ("" when the last attempt worked).
  std::string last_error() const;
  Stats stats() const;

  const std::string& kind() const { return kind_; }

 private:
  void run();
  bool relist();
  void apply(const WatchEvent& e);
  void changed();
  void sleep_backoff();

  ClusterStore& store_;
  std::string api_version_, kind_;
  std::function<void()> on_change_;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  mutable std::mutex mu_;
  mutable std::condition_variable synced_cv_;
  std::map<std::string, Json> objects_;  // "ns/name"
  std::string version_;
  bool synced_ = false;
  uint64_t generation_ = 0;
  std::string last_error_;
  Stats stats_;
  std::chrono::milliseconds backoff_{0};
};

}  // namespace axon::client
