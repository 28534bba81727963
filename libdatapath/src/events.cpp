#include "axon/datapath/events.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace axon::datapath {
namespace {

FlowTuple decode_tuple(const axon_flow_tuple& t) {
  return FlowTuple{Ipv4::from_network_order(t.saddr), Ipv4::from_network_order(t.daddr),
                   ntohs(t.sport), ntohs(t.dport), t.proto};
}

int64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

Event decode_event(const axon_event& raw, int64_t mono_to_real_ns) {
  Event e;
  e.time = std::chrono::system_clock::time_point(std::chrono::duration_cast<
                                                 std::chrono::system_clock::duration>(
      std::chrono::nanoseconds(static_cast<int64_t>(raw.timestamp_ns) + mono_to_real_ns)));
  e.type = static_cast<EventType>(raw.type);
  if (raw.type == AXON_EVENT_DROP) {
    e.drop_reason = raw.subtype;
  } else {
    e.trace_point = raw.subtype;
  }
  e.direction = raw.direction;
  e.is_reply = (raw.flags & AXON_EVENT_F_REPLY) != 0;
  e.nat = (raw.flags & AXON_EVENT_F_NAT) != 0;
  e.ifindex = raw.ifindex;
  e.endpoint_id = raw.endpoint_id;
  e.src_identity = raw.src_identity;
  e.dst_identity = raw.dst_identity;
  e.length = raw.len;
  e.orig = decode_tuple(raw.orig);
  e.xlated = decode_tuple(raw.xlated);
  e.tcp_flags = raw.tcp_flags;
  e.verdict = raw.verdict;
  e.match_type = raw.match_type;
  e.trace_reason = raw.trace_reason;
  e.proxy_port = raw.proxy_port;
  e.icmp_type = raw.icmp_type;
  e.icmp_code = raw.icmp_code;
  return e;
}

struct EventReader::Callback {
  std::function<void(const Event&)> fn;
  size_t seen = 0;
  int64_t mono_to_real_ns = 0;

  static int on_sample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Callback*>(ctx);
    if (size < sizeof(axon_event)) return 0;
    const auto* raw = static_cast<const axon_event*>(data);
    ++self->seen;
    if (self->fn) self->fn(decode_event(*raw, self->mono_to_real_ns));
    return 0;
  }
};

EventReader::EventReader(Fd fd, std::unique_ptr<Callback> cb, ring_buffer* rb)
    : fd_(std::move(fd)), cb_(std::move(cb)), rb_(rb) {}

EventReader::EventReader(EventReader&& o) noexcept
    : fd_(std::move(o.fd_)), cb_(std::move(o.cb_)), rb_(std::exchange(o.rb_, nullptr)) {}

EventReader& EventReader::operator=(EventReader&& o) noexcept {
  if (this != &o) {
    if (rb_ != nullptr) ring_buffer__free(rb_);
    fd_ = std::move(o.fd_);
    cb_ = std::move(o.cb_);
    rb_ = std::exchange(o.rb_, nullptr);
  }
  return *this;
}

EventReader::~EventReader() {
  if (rb_ != nullptr) ring_buffer__free(rb_);
}

Result<EventReader> EventReader::open(const bpf_map* ring) {
  Fd fd(dup(bpf_map__fd(ring)));
  if (!fd.valid()) return sys_error("duplicate event ring buffer fd");
  auto cb = std::make_unique<Callback>();
  errno = 0;
  ring_buffer* rb = ring_buffer__new(fd.get(), &Callback::on_sample, cb.get(), nullptr);
  if (rb == nullptr) return sys_error("open event ring buffer");
  return EventReader(std::move(fd), std::move(cb), rb);
}

Result<size_t> EventReader::poll(std::chrono::milliseconds timeout,
                                 const std::function<void(const Event&)>& fn) {
  cb_->fn = fn;
  cb_->seen = 0;
  cb_->mono_to_real_ns = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC);
  int n = ring_buffer__poll(rb_, static_cast<int>(timeout.count()));
  cb_->fn = nullptr;
  if (n < 0 && n != -EINTR) return neg_errno_error("poll event ring buffer", n);
  return cb_->seen;
}

}  // namespace axon::datapath
