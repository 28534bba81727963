#include "axon/client/informer.h"

#include <random>

#include "axon/base/log.h"

namespace axon::client {
namespace {

using namespace std::chrono_literals;

constexpr auto kBackoffFirst = 200ms;
constexpr auto kBackoffMax = 10s;

std::string key_of(const Json& o) {
  const Json& m = member(o, "metadata");
  return m.value("namespace", "") + "/" + m.value("name", "");
}

}  // namespace

Informer::Informer(ClusterStore& store, std::string api_version, std::string kind)
    : store_(store), api_version_(std::move(api_version)), kind_(std::move(kind)) {}

Informer::~Informer() { stop(); }

void Informer::on_change(std::function<void()> callback) { on_change_ = std::move(callback); }

void Informer::start() {
  if (thread_.joinable()) return;
  stop_.store(false);
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

bool Informer::synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool Informer::wait_synced(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return synced_cv_.wait_for(lock, timeout, [&] { return synced_; });
}

std::vector<Json> Informer::list() const {
  std::lock_guard lock(mu_);
  std::vector<Json> out;
  out.reserve(objects_.size());
  for (const auto& [_, o] : objects_) out.push_back(o);
  return out;
}

std::optional<Json> Informer::get(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(ns + "/" + name);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

uint64_t Informer::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

std::string Informer::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

Informer::Stats Informer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Informer::changed() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  if (on_change_) on_change_();
}

// Waits before the next attempt after an error: 200 ms doubling to 10 s,
// each wait between half and all of it (jitter, so many clients that lost
// the server do not come back at the same instant).
void Informer::sleep_backoff() {
  backoff_ = backoff_.count() == 0 ? std::chrono::milliseconds(kBackoffFirst)
                                   : std::min<std::chrono::milliseconds>(backoff_ * 2, kBackoffMax);
  static thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int64_t> jitter(backoff_.count() / 2, backoff_.count());
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(jitter(rng));
  while (!stop_.load() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
}

bool Informer::relist() {
  auto listed = store_.list_versioned(api_version_, kind_);
  std::lock_guard lock(mu_);
  ++stats_.lists;
  if (!listed) {
    ++stats_.errors;
    last_error_ = listed.error().str();
    return false;
  }
  objects_.clear();
  for (auto& o : listed->items) {
    std::string key = key_of(o);  // before the move: Json's operator= takes its argument by value
    objects_[key] = std::move(o);
  }
  version_ = listed->resource_version;
  last_error_.clear();
  if (!synced_) {
    synced_ = true;
    synced_cv_.notify_all();
  }
  return true;
}

void Informer::apply(const WatchEvent& e) {
  std::lock_guard lock(mu_);
  const std::string version = member(e.object, "metadata").value("resourceVersion", "");
  if (!version.empty()) version_ = version;
  if (e.type == WatchEvent::Type::bookmark) return;
  ++stats_.events;
  if (e.type == WatchEvent::Type::deleted) {
    objects_.erase(key_of(e.object));
  } else {
    objects_[key_of(e.object)] = e.object;
  }
}

void Informer::run() {
  bool need_list = true;
  std::unique_ptr<WatchStream> watch;
  while (!stop_.load()) {
    if (need_list) {
      if (!relist()) {
        log::debug("informer {}: {}", kind_, last_error());
        sleep_backoff();
        continue;
      }
      need_list = false;
      backoff_ = {};
      changed();
    }
    if (!watch) {
      std::string from;
      {
        std::lock_guard lock(mu_);
        from = version_;
        ++stats_.watches;
      }
      auto w = store_.watch_objects(api_version_, kind_, from);
      if (!w) {
        std::lock_guard lock(mu_);
        ++stats_.errors;
        last_error_ = w.error().str();
      } else {
        watch = std::move(*w);
      }
      if (!watch) {
        sleep_backoff();
        need_list = true;  // the kind may be new (a CRD installed since): list again
        continue;
      }
    }
    auto batch = watch->next(500ms);
    if (!batch) {
      {
        std::lock_guard lock(mu_);
        ++stats_.errors;
        last_error_ = batch.error().str();
      }
      log::debug("informer {}: watch: {}", kind_, last_error());
      watch.reset();
      sleep_backoff();
      continue;
    }
    bool any = false;
    for (const auto& e : batch->events) {
      apply(e);
      any = any || e.type != WatchEvent::Type::bookmark;
    }
    if (any) {
      backoff_ = {};
      changed();
    }
    if (batch->gone) {
      std::lock_guard lock(mu_);
      ++stats_.gone;
    }
    if (batch->gone || batch->closed) {
      watch.reset();
      need_list = batch->gone;
    }
  }
}

}  // namespace axon::client
