// The observer's memory: a bounded ring of the most recent flows (and
// lost-event records), and the reader that answers GetFlows from it with
// Hubble's semantics (number, first, follow, since, until, filters).
//
// Threads: the agent's event thread writes; gRPC threads read. Every method
// of FlowRing is thread-safe (one mutex; entries are immutable and shared,
// so a reader copies pointers under the lock and serializes outside it).
// A FlowRingReader belongs to one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/hubble/filter.h"
#include "observer/observer.pb.h"

namespace axon::hubble {

// Hubble's default ring capacity.
inline constexpr size_t kDefaultRingCapacity = 4095;

using FlowEntry = std::shared_ptr<const observer::GetFlowsResponse>;

// A GetFlowsResponse carrying `flow`, with node_name and time copied from it
// (what every server sends).
FlowEntry make_flow_entry(flow::Flow flow);
// The same, built in place: fill flow(), then finish(). Every message and
// string of the entry lives in one arena of its own (its first block
// allocated with it, freed at once when the last reader lets the entry go):
// what the agent makes per event, without an allocation per field.
class FlowEntryBuilder {
 public:
  FlowEntryBuilder();
  flow::Flow& flow() { return *flow_; }
  FlowEntry finish();  // once

 private:
  std::shared_ptr<void> holder_;
  observer::GetFlowsResponse* response_ = nullptr;
  flow::Flow* flow_ = nullptr;
};
// One built in place by `fill`.
FlowEntry build_flow_entry(const std::function<void(flow::Flow&)>& fill);
// A lost-events record: `count` events lost at `source`.
FlowEntry make_lost_entry(flow::LostEventSource source, uint64_t count,
                          std::chrono::system_clock::time_point when, const std::string& node_name);

struct RingStats {
  uint64_t capacity = 0;
  uint64_t size = 0;         // entries held now
  uint64_t seen_flows = 0;   // flows written since start
  uint64_t lost_events = 0;  // events recorded lost before the ring (write_lost)
};

class FlowRing {
 public:
  explicit FlowRing(size_t capacity = kDefaultRingCapacity);
  FlowRing(const FlowRing&) = delete;
  FlowRing& operator=(const FlowRing&) = delete;

  // Appends an entry, overwriting the oldest when full; returns its sequence
  // number (0, 1, 2, ... for the ring's whole life).
  uint64_t write(FlowEntry entry);
  // Appends a lost-events record (the datapath's buffer was full: source
  // PERF_EVENT_RING_BUFFER), so readers learn about the gap.
  uint64_t write_lost(flow::LostEventSource source, uint64_t count,
                      std::chrono::system_clock::time_point when, const std::string& node_name);

  // The sequence numbers held: [oldest(), next()).
  uint64_t next() const;
  uint64_t oldest() const;

  struct Batch {
    uint64_t lost = 0;   // entries at `from` already overwritten
    uint64_t first = 0;  // sequence number of entries[0]
  };
  // Copies up to `max` entries starting at sequence `from` (or at oldest()
  // when `from` was overwritten: `lost` says how many were) into `out`.
  Batch read(uint64_t from, size_t max, std::vector<FlowEntry>& out) const;
  // The entry at `seq`, or null when not held.
  FlowEntry at(uint64_t seq) const;

  // Waits until an entry with sequence >= `seq` exists, the deadline passes
  // or close() is called; returns whether one exists.
  bool wait(uint64_t seq, std::chrono::steady_clock::time_point deadline) const;
  // Wakes every waiter for good (shutdown).
  void close();
  bool closed() const;

  RingStats stats() const;
  size_t capacity() const { return entries_.size(); }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<FlowEntry> entries_;  // slot = seq % capacity
  uint64_t next_ = 0;
  uint64_t seen_flows_ = 0;
  uint64_t lost_events_ = 0;
  bool closed_ = false;
};

// One GetFlows request read from a ring. Construction validates the request
// and finds where to start (Hubble's rules, CC local_observer.go):
// - `first` without `since` starts at the oldest entry;
// - `follow` with number 0 and no `since` starts after the newest;
// - otherwise it rewinds until `number` matching flows (or a flow older than
//   `since`, or the oldest entry) — so number 0 means the whole ring.
// Then it returns matching flows in order: at most `number` unless
// following; a flow later than `until` ends the stream; lost events pass
// every filter and never count. A reader that falls behind the writer gets a
// LostEvent (HUBBLE_RING_BUFFER) with the exact number of entries it missed.
class FlowRingReader {
 public:
  // Errors are the request's fault (gRPC INVALID_ARGUMENT).
  static Result<FlowRingReader> open(const FlowRing& ring, const observer::GetFlowsRequest& req,
                                     std::string node_name = "");

  enum class Next { entry, end, timeout };
  // The next response for the client. Waits for new entries (follow) until
  // `deadline`, then answers timeout so the caller can check cancellation.
  Next next(FlowEntry* out, std::chrono::steady_clock::time_point deadline);

  uint64_t position() const { return pos_; }

 private:
  FlowRingReader(const FlowRing& ring, FlowFilterSet filters) : ring_(&ring), filters_(std::move(filters)) {}
  bool fill(std::chrono::steady_clock::time_point deadline);

  const FlowRing* ring_;
  FlowFilterSet filters_;
  std::string node_name_;
  uint64_t pos_ = 0;        // next sequence to read
  uint64_t max_flows_ = 0;  // 0: unlimited
  uint64_t sent_flows_ = 0;
  bool follow_ = false;
  std::optional<int64_t> since_ns_, until_ns_;
  std::vector<FlowEntry> buffer_;  // read ahead, from buffer_pos_
  size_t buffer_pos_ = 0;
  uint64_t pending_lost_ = 0;
};

// Nanoseconds since the epoch of a Timestamp.
int64_t to_unix_ns(const google::protobuf::Timestamp& ts);
void set_unix_ns(google::protobuf::Timestamp* ts, int64_t ns);

}  // namespace axon::hubble
