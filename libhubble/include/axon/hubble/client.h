// Where `axon observe` reads flows from: a Hubble-compatible Observer over
// gRPC (the relay, one agent, any Hubble server), or a file of JSON lines
// as `-o jsonpb` writes them (hubble's IOReaderObserver), so filters and
// printing work with no server at all.
#pragma once

#include <chrono>
#include <functional>
#include <istream>
#include <memory>
#include <string>

#include "axon/base/result.h"
#include "observer/observer.pb.h"

namespace axon::hubble {

using ResponseSink = std::function<Status(const observer::GetFlowsResponse&)>;
// Polled while a stream waits; returning true ends it cleanly (Ctrl-C).
using StopRequested = std::function<bool()>;

class FlowSource {
 public:
  virtual ~FlowSource() = default;
  // Streams the responses to `req` into `sink` until the stream ends, `stop`
  // says so (both: success), the sink fails, or the source does (error).
  virtual Status get_flows(const observer::GetFlowsRequest& req, const ResponseSink& sink,
                           const StopRequested& stop) = 0;
};

struct GrpcSourceOptions {
  std::chrono::milliseconds connect_timeout{5000};  // --timeout
  std::chrono::milliseconds request_timeout{12000};  // --request-timeout: whole non-follow stream
};

// An Observer at a gRPC target ("unix:///run/axon/lab/relay.sock",
// "localhost:4245"). No server answering within connect_timeout is an
// error naming the target.
std::unique_ptr<FlowSource> grpc_flow_source(std::string target, GrpcSourceOptions options);

// JSON lines of GetFlowsResponse from `in`. The request's filters, since and
// until apply; `number` keeps the last N (the first N with `first`); follow
// is ignored. Lines that do not parse are reported through `warn` and
// skipped; unknown fields are ignored.
std::unique_ptr<FlowSource> json_lines_flow_source(std::istream& in,
                                                   std::function<void(const std::string&)> warn);

// Finds the flow server of one node's agent (`axon observe --node NAME`).
class NodeResolver {
 public:
  virtual ~NodeResolver() = default;
  // A gRPC target for the node's Observer, or an error that says why not.
  virtual Result<std::string> observer_target(const std::string& node) const = 0;
};

}  // namespace axon::hubble
