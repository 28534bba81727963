#include "axon/hubble/client.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <deque>
#include <thread>

#include "axon/base/log.h"
#include "axon/base/strings.h"
#include "axon/base/duration.h"
#include "axon/hubble/filter.h"
#include "axon/hubble/observer.h"
#include "axon/hubble/ring.h"
#include "observer/observer.grpc.pb.h"

namespace axon::hubble {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;  // gRPC deadlines are system_clock

std::string seconds_text(std::chrono::milliseconds d) {
  return format_duration(d);
}

class GrpcFlowSource final : public FlowSource {
 public:
  GrpcFlowSource(std::string target, GrpcSourceOptions options)
      : target_(std::move(target)), options_(options) {}

  Status get_flows(const observer::GetFlowsRequest& req, const ResponseSink& sink,
                   const StopRequested& stop) override {
    if (target_.starts_with("unix:")) {
      std::string path = target_.substr(target_.starts_with("unix://") ? 7 : 5);
      struct stat st{};
      if (::stat(path.c_str(), &st) != 0) {
        return Error{"no flow server at " + target_ + ": " + path + " does not exist"};
      }
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // A connect attempt whose SYN was dropped (a policy, a node not up yet)
    // is given up after 2 s and made again, rather than after gRPC's 20 s;
    // and every source gets its own subchannel, so a new one does not
    // inherit an earlier one's backoff.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (req.follow()) {
      // A stream can wait for flows for a long time: ping, so a connection
      // that died silently ends the stream (and the caller reconnects).
      args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
      args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    }
    auto channel = grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), args);
    auto connect_deadline = Clock::now() + options_.connect_timeout;
    while (!channel->WaitForConnected(std::min(connect_deadline, Clock::now() + 100ms))) {
      if (stop && stop()) return {};
      if (Clock::now() >= connect_deadline) {
        return Error{"no flow server answers at " + target_ + " (waited " +
                     seconds_text(options_.connect_timeout) + ")"};
      }
    }
    auto stub = observer::Observer::NewStub(channel);
    grpc::ClientContext ctx;
    if (!req.follow()) ctx.set_deadline(std::chrono::system_clock::now() + options_.request_timeout);

    std::atomic<bool> done{false}, stopped{false};
    std::thread watcher([&] {
      while (!done.load()) {
        if (stop && stop()) {
          stopped = true;
          ctx.TryCancel();
          return;
        }
        std::this_thread::sleep_for(50ms);
      }
    });
    auto reader = stub->GetFlows(&ctx, req);
    observer::GetFlowsResponse r;
    Status sink_status;
    bool logged_version = false;
    while (reader->Read(&r)) {
      if (!logged_version) {
        logged_version = true;
        for (const char* h : {kServerVersionHeader, kRelayVersionHeader}) {
          auto it = ctx.GetServerInitialMetadata().find(h);
          if (it != ctx.GetServerInitialMetadata().end()) {
            log::debug("{}: {}", h, std::string(it->second.data(), it->second.size()));
          }
        }
      }
      sink_status = sink(r);
      if (!sink_status) {
        ctx.TryCancel();
        break;
      }
    }
    grpc::Status st = reader->Finish();
    done = true;
    watcher.join();
    if (!sink_status) return sink_status;
    if (stopped || st.ok()) return {};
    switch (st.error_code()) {
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return Error{"the flow server at " + target_ + " did not finish within " +
                     seconds_text(options_.request_timeout) + " (--request-timeout)"};
      case grpc::StatusCode::UNAVAILABLE:
        return Error{"lost the flow server at " + target_ + ": " + st.error_message()};
      default:
        return Error{st.error_message()};
    }
  }

 private:
  std::string target_;
  GrpcSourceOptions options_;
};

class JsonLinesFlowSource final : public FlowSource {
 public:
  JsonLinesFlowSource(std::istream& in, std::function<void(const std::string&)> warn)
      : in_(in), warn_(std::move(warn)) {}

  Status get_flows(const observer::GetFlowsRequest& req, const ResponseSink& sink,
                   const StopRequested& stop) override {
    auto filters = FlowFilterSet::compile(req.whitelist(), req.blacklist());
    if (!filters) return filters.error();
    const uint64_t n = req.number();
    const bool all = n == 0 || n == UINT64_MAX;
    const bool keep_last = !req.first() && !all;
    const bool first = req.first() && !all;
    std::deque<observer::GetFlowsResponse> last;
    uint64_t returned = 0;
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = true;
    std::string line;
    size_t lineno = 0;
    while (std::getline(in_, line)) {
      ++lineno;
      if (stop && stop()) return {};
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      observer::GetFlowsResponse r;
      auto st = google::protobuf::util::JsonStringToMessage(line, &r, opts);
      if (!st.ok()) {
        if (warn_) {
          warn_("line " + std::to_string(lineno) + " is not a flow (JSON of GetFlowsResponse): " +
                std::string(st.message()));
        }
        continue;
      }
      int64_t t = to_unix_ns(r.time());
      if (req.has_since() && t < to_unix_ns(req.since())) continue;
      if (req.has_until() && t > to_unix_ns(req.until())) continue;
      if (!filters->allows(r)) continue;
      if (keep_last) {
        last.push_back(std::move(r));
        if (last.size() > n) last.pop_front();
        continue;
      }
      if (auto s = sink(r); !s) return s;
      if (first && ++returned >= n) return {};
    }
    for (const auto& r : last) {
      if (auto s = sink(r); !s) return s;
    }
    return {};
  }

 private:
  std::istream& in_;
  std::function<void(const std::string&)> warn_;
};

}  // namespace

std::unique_ptr<FlowSource> grpc_flow_source(std::string target, GrpcSourceOptions options) {
  return std::make_unique<GrpcFlowSource>(std::move(target), options);
}

std::unique_ptr<FlowSource> json_lines_flow_source(std::istream& in,
                                                   std::function<void(const std::string&)> warn) {
  return std::make_unique<JsonLinesFlowSource>(in, std::move(warn));
}

}  // namespace axon::hubble
