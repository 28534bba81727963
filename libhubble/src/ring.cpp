#include "axon/hubble/ring.h"

#include <algorithm>

namespace axon::hubble {

int64_t to_unix_ns(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000000 + ts.nanos();
}

void set_unix_ns(google::protobuf::Timestamp* ts, int64_t ns) {
  int64_t s = ns / 1000000000, n = ns % 1000000000;
  if (n < 0) {
    n += 1000000000;
    --s;
  }
  ts->set_seconds(s);
  ts->set_nanos(static_cast<int32_t>(n));
}

FlowEntry make_flow_entry(flow::Flow flow) {
  auto r = std::make_shared<observer::GetFlowsResponse>();
  r->set_node_name(flow.node_name());
  *r->mutable_time() = flow.time();
  *r->mutable_flow() = std::move(flow);
  return r;
}

namespace {
// An entry's arena with its first block inline: one allocation for a
// typical flow (1.6-2.2 KiB of messages and strings with a pod's labels, an
// HTTP request's headers), small blocks more only for a larger one.
struct EntryArena {
  static constexpr size_t kInline = 3072;
  alignas(16) char block[kInline];
  google::protobuf::Arena arena;
  static google::protobuf::ArenaOptions options(char* block) {
    google::protobuf::ArenaOptions o;
    o.initial_block = block;
    o.initial_block_size = kInline;
    o.start_block_size = 512;
    o.max_block_size = 4096;
    return o;
  }
  EntryArena() : arena(options(block)) {}
};
}  // namespace

FlowEntryBuilder::FlowEntryBuilder() {
  auto holder = std::make_shared<EntryArena>();
  response_ = google::protobuf::Arena::CreateMessage<observer::GetFlowsResponse>(&holder->arena);
  flow_ = response_->mutable_flow();
  holder_ = std::move(holder);
}

FlowEntry FlowEntryBuilder::finish() {
  response_->set_node_name(flow_->node_name());
  *response_->mutable_time() = flow_->time();
  return FlowEntry(std::move(holder_), response_);
}

FlowEntry build_flow_entry(const std::function<void(flow::Flow&)>& fill) {
  FlowEntryBuilder b;
  fill(b.flow());
  return b.finish();
}

FlowEntry make_lost_entry(flow::LostEventSource source, uint64_t count,
                          std::chrono::system_clock::time_point when, const std::string& node_name) {
  auto r = std::make_shared<observer::GetFlowsResponse>();
  auto* lost = r->mutable_lost_events();
  lost->set_source(source);
  lost->set_num_events_lost(count);
  r->set_node_name(node_name);
  set_unix_ns(r->mutable_time(),
              std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count());
  return r;
}

FlowRing::FlowRing(size_t capacity) : entries_(std::max<size_t>(capacity, 1)) {}

uint64_t FlowRing::write(FlowEntry entry) {
  bool is_flow = entry->has_flow();
  uint64_t seq;
  {
    std::lock_guard lock(mu_);
    seq = next_++;
    entries_[seq % entries_.size()] = std::move(entry);
    if (is_flow) ++seen_flows_;
  }
  cv_.notify_all();
  return seq;
}

uint64_t FlowRing::write_lost(flow::LostEventSource source, uint64_t count,
                              std::chrono::system_clock::time_point when,
                              const std::string& node_name) {
  {
    std::lock_guard lock(mu_);
    lost_events_ += count;
  }
  return write(make_lost_entry(source, count, when, node_name));
}

uint64_t FlowRing::next() const {
  std::lock_guard lock(mu_);
  return next_;
}

uint64_t FlowRing::oldest() const {
  std::lock_guard lock(mu_);
  return next_ > entries_.size() ? next_ - entries_.size() : 0;
}

FlowRing::Batch FlowRing::read(uint64_t from, size_t max, std::vector<FlowEntry>& out) const {
  std::lock_guard lock(mu_);
  uint64_t oldest = next_ > entries_.size() ? next_ - entries_.size() : 0;
  Batch b;
  if (from < oldest) {
    b.lost = oldest - from;
    from = oldest;
  }
  b.first = from;
  for (uint64_t s = from; s < next_ && max > 0; ++s, --max) out.push_back(entries_[s % entries_.size()]);
  return b;
}

FlowEntry FlowRing::at(uint64_t seq) const {
  std::lock_guard lock(mu_);
  uint64_t oldest = next_ > entries_.size() ? next_ - entries_.size() : 0;
  if (seq < oldest || seq >= next_) return nullptr;
  return entries_[seq % entries_.size()];
}

bool FlowRing::wait(uint64_t seq, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return next_ > seq || closed_; });
  return next_ > seq;
}

void FlowRing::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool FlowRing::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

RingStats FlowRing::stats() const {
  std::lock_guard lock(mu_);
  return {entries_.size(), std::min<uint64_t>(next_, entries_.size()), seen_flows_, lost_events_};
}

// ---------------------------------------------------------------------------

Result<FlowRingReader> FlowRingReader::open(const FlowRing& ring,
                                            const observer::GetFlowsRequest& req,
                                            std::string node_name) {
  if (req.first() && req.follow()) return Error{"first cannot be specified with follow"};
  auto filters = FlowFilterSet::compile(req.whitelist(), req.blacklist());
  if (!filters) return filters.error();
  FlowRingReader r(ring, std::move(*filters));
  r.node_name_ = std::move(node_name);
  r.follow_ = req.follow();
  r.max_flows_ = req.follow() ? 0 : req.number();
  if (req.has_since()) r.since_ns_ = to_unix_ns(req.since());
  if (req.has_until()) r.until_ns_ = to_unix_ns(req.until());

  const uint64_t next = ring.next();
  const uint64_t oldest = ring.oldest();
  if (req.first() && !req.has_since()) {
    r.pos_ = oldest;
    return r;
  }
  if (req.follow() && req.number() == 0 && !req.has_since()) {
    r.pos_ = next;
    return r;
  }
  // Rewind from the newest entry.
  uint64_t start = oldest;
  uint64_t count = 0;
  for (uint64_t seq = next; seq > oldest; --seq) {
    FlowEntry e = ring.at(seq - 1);
    if (!e) {  // overwritten meanwhile: start at what is still there
      start = seq;
      break;
    }
    if (!e->has_flow()) continue;
    if (!r.filters_.allows(e->flow())) continue;
    ++count;
    if (r.since_ns_ && to_unix_ns(e->time()) < *r.since_ns_) {
      start = seq;  // the entry after this one
      break;
    }
    // since takes precedence over number (Hubble's ring reader): rewind to it.
    if (!r.since_ns_ && req.number() != 0 && count == req.number()) {
      start = seq - 1;
      break;
    }
  }
  r.pos_ = start;
  return r;
}

bool FlowRingReader::fill(std::chrono::steady_clock::time_point deadline) {
  buffer_.clear();
  buffer_pos_ = 0;
  for (;;) {
    auto b = ring_->read(pos_, 256, buffer_);
    pending_lost_ += b.lost;
    pos_ = b.first + buffer_.size();
    if (!buffer_.empty() || pending_lost_ > 0) return true;
    if (!follow_ || ring_->closed()) return false;
    if (!ring_->wait(pos_, deadline)) return false;
  }
}

FlowRingReader::Next FlowRingReader::next(FlowEntry* out,
                                          std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (max_flows_ != 0 && sent_flows_ >= max_flows_) return Next::end;
    if (pending_lost_ > 0) {
      *out = make_lost_entry(flow::HUBBLE_RING_BUFFER, pending_lost_,
                             std::chrono::system_clock::now(), node_name_);
      pending_lost_ = 0;
      return Next::entry;
    }
    if (buffer_pos_ >= buffer_.size()) {
      if (!fill(deadline)) {
        if (!follow_ || ring_->closed()) return Next::end;
        return Next::timeout;
      }
      continue;  // the lost count (if any) goes first
    }
    FlowEntry e = std::move(buffer_[buffer_pos_++]);
    if (!e->has_flow()) {
      *out = std::move(e);
      return Next::entry;
    }
    int64_t t = to_unix_ns(e->time());
    if (until_ns_ && t > *until_ns_) return Next::end;
    if (since_ns_ && t < *since_ns_) continue;
    if (!filters_.allows(e->flow())) continue;
    ++sent_flows_;
    *out = std::move(e);
    return Next::entry;
  }
}

}  // namespace axon::hubble
