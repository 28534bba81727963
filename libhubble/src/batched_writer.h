// Internal: writes a GetFlows stream in bursts (the observer's and the
// relay's). Each response is written once the next one is at hand, with
// gRPC's buffer hint (more follow: no flush per message); flush() writes the
// held one plainly, so the client has everything so far. A burst is cut
// every kMaxBatch messages so a steady stream never waits long. One flush
// per flow was most of the per-flow cost (bench/RESULTS.md, flows).
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "observer/observer.pb.h"

namespace axon::hubble {

// Held: FlowEntry (a shared pointer to a response) or a response by value.
template <typename Held>
class BatchedWriter {
 public:
  static constexpr int kMaxBatch = 64;
  using OnWrite = std::function<void(const observer::GetFlowsResponse&)>;

  explicit BatchedWriter(grpc::ServerWriter<observer::GetFlowsResponse>* writer,
                         OnWrite on_write = nullptr)
      : writer_(writer), on_write_(std::move(on_write)) {}

  bool holding() const { return held_.has_value(); }
  // Writes the held response (more follow) and holds `r`. False: the client
  // went away.
  bool push(Held r) {
    bool ok = write_held(true);
    held_ = std::move(r);
    return ok;
  }
  // Writes the held response, if any, ending the burst.
  bool flush() { return write_held(false); }

 private:
  static const observer::GetFlowsResponse& ref(const observer::GetFlowsResponse& r) { return r; }
  static const observer::GetFlowsResponse& ref(
      const std::shared_ptr<const observer::GetFlowsResponse>& r) {
    return *r;
  }

  bool write_held(bool more) {
    if (!held_) return true;
    grpc::WriteOptions o;
    if (more && ++batched_ < kMaxBatch) {
      o.set_buffer_hint();
    } else {
      batched_ = 0;
    }
    const auto& r = ref(*held_);
    if (on_write_) on_write_(r);
    bool ok = writer_->Write(r, o);
    held_.reset();
    return ok;
  }

  grpc::ServerWriter<observer::GetFlowsResponse>* writer_;
  OnWrite on_write_;
  std::optional<Held> held_;
  int batched_ = 0;
};

}  // namespace axon::hubble
