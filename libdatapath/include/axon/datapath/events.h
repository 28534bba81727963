// Reading the datapath's trace and drop events from its ring buffer, decoded
// into plain structs for the flow service.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "axon/abi/events.h"
#include "axon/base/fd.h"
#include "axon/base/result.h"
#include "axon/datapath/ip.h"

struct bpf_map;
struct ring_buffer;

namespace axon::datapath {

struct FlowTuple {
  Ipv4 saddr, daddr;
  uint16_t sport = 0, dport = 0;  // host order (ICMP echo: the identifier, see axon_flow_tuple)
  uint8_t protocol = 0;

  bool operator==(const FlowTuple&) const = default;
};

enum class EventType : uint8_t { drop = AXON_EVENT_DROP, trace = AXON_EVENT_TRACE };

struct Event {
  std::chrono::system_clock::time_point time;
  EventType type = EventType::trace;
  uint8_t drop_reason = 0;  // drop events: Cilium's code (drop_reason.h)
  uint8_t trace_point = 0;  // trace events: enum axon_trace_point
  uint8_t direction = 0;    // enum axon_direction (Hubble's TrafficDirection)
  bool is_reply = false;
  bool nat = false;  // orig != xlated
  uint32_t ifindex = 0, endpoint_id = 0, src_identity = 0, dst_identity = 0, length = 0;
  FlowTuple orig;    // before NAT (a Service's VIP:port)
  FlowTuple xlated;  // after NAT
  uint8_t tcp_flags = 0;
  uint8_t verdict = 0;       // enum axon_verdict (Hubble's Verdict)
  uint8_t match_type = 0;    // enum axon_match_type
  uint8_t trace_reason = 0;  // enum axon_trace_reason
  uint16_t proxy_port = 0;
  uint8_t icmp_type = 0, icmp_code = 0;
};

// Decodes a raw event; `mono_to_real_ns` converts CLOCK_MONOTONIC to wall time.
Event decode_event(const axon_event& raw, int64_t mono_to_real_ns);

// One consumer of the event ring buffer. Holds its own reference to the map.
class EventReader {
 public:
  static Result<EventReader> open(const bpf_map* ring);

  EventReader(EventReader&&) noexcept;
  EventReader& operator=(EventReader&&) noexcept;
  ~EventReader();

  // Waits up to `timeout` for a batch of events (the programs wake the
  // reader per 64 KiB), then calls `fn` for every event there; returns how
  // many. Events arrive at most `timeout` late.
  Result<size_t> poll(std::chrono::milliseconds timeout,
                      const std::function<void(const Event&)>& fn);

 private:
  struct Callback;
  EventReader(Fd fd, std::unique_ptr<Callback> cb, ring_buffer* rb);
  Fd fd_;
  std::unique_ptr<Callback> cb_;
  ring_buffer* rb_ = nullptr;
};

}  // namespace axon::datapath
