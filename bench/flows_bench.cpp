// Flow pipeline throughput, on one core: datapath events -> FlowDecoder (a
// fake enricher) -> FlowRing -> ObserverService GetFlows follower over gRPC
// on a unix socket -> a client that parses every response.
//
// The whole process is pinned to one CPU before any thread starts, so the
// producer, gRPC's threads and the follower share that core, as an agent
// under load would. Every produced event is accounted for: the client
// counts flows received and the lost-event records (HUBBLE_RING_BUFFER,
// exact counts of entries overwritten before it read them); the run ends
// when delivered + lost == produced, and says so.
//
//   axon_bench_flows [--cpu N] [--ring CAP]
//
// Runs: decode+ring only (no reader); paced at 50,000 events/s for 5 s;
// unpaced (as fast as the producer goes) for 500,000 events.
#include <sched.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "axon/hubble/observer.h"
#include "flow_fixtures.h"
#include "observer/observer.grpc.pb.h"

using namespace axon;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long max_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// A mix like a busy node: new connections, replies, drops, UDP.
std::vector<datapath::Event> event_mix() {
  using test::EventSpec;
  std::vector<datapath::Event> v;
  v.push_back(test::make_event({.code = AXON_TRACE_FROM_ENDPOINT}));
  v.push_back(test::make_event({.code = AXON_TRACE_TO_ENDPOINT,
                                .direction = AXON_DIR_INGRESS,
                                .trace_reason = AXON_TRACE_REASON_REPLY,
                                .reply = true,
                                .src = "10.244.2.7",
                                .sport = 8080,
                                .dst = "10.244.1.5",
                                .dport = 40000,
                                .tcp_flags = 0x12}));
  v.push_back(test::make_event({.type = datapath::EventType::drop,
                                .code = AXON_DROP_POLICY_DENIED,
                                .direction = AXON_DIR_INGRESS,
                                .trace_reason = AXON_TRACE_REASON_UNKNOWN,
                                .src = "10.244.1.9"}));
  v.push_back(test::make_event({.dst = "1.1.1.1", .dport = 53, .proto = IPPROTO_UDP, .dst_identity = 2}));
  return v;
}

struct Result {
  uint64_t produced = 0, delivered = 0, lost = 0;
  double produce_s = 0, total_s = 0, cpu_s = 0;
  bool accounted = false;
};

void print(const char* name, const Result& r) {
  std::printf(
      "%-28s produced %9llu  delivered %9llu  lost %8llu  delivered+lost==produced: %s\n"
      "%-28s %8.0f events/s end to end (%.0f/s produced), %.2f s, CPU %.2f s (%.0f%% of the core)\n",
      name, static_cast<unsigned long long>(r.produced), static_cast<unsigned long long>(r.delivered),
      static_cast<unsigned long long>(r.lost), r.accounted ? "yes" : "NO", "",
      r.produced / r.total_s, r.produced / r.produce_s, r.total_s, r.cpu_s,
      100.0 * r.cpu_s / r.total_s);
}

// Produces `n` events at `rate` per second (0: as fast as possible) into a
// ring read by a GetFlows follower; waits until every event is accounted for.
Result run(size_t ring_capacity, uint64_t n, double rate, bool with_reader) {
  test::TempDir dir;
  test::FakeEnricher enricher;
  hubble::FlowDecoder decoder({"node1", {}, "default", 1}, &enricher);
  auto ring = std::make_shared<hubble::FlowRing>(ring_capacity);
  hubble::ObserverService service(ring, {"node1", ""});
  auto server = hubble::FlowServer::start({&service}, {dir.socket("hubble.sock")});
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.error().message.c_str());
    std::exit(1);
  }

  std::atomic<uint64_t> delivered{0}, lost{0};
  std::atomic<bool> ready{false};
  grpc::ClientContext ctx;
  std::thread reader;
  if (with_reader) {
    reader = std::thread([&] {
      auto stub = observer::Observer::NewStub(
          grpc::CreateChannel(dir.socket("hubble.sock"), grpc::InsecureChannelCredentials()));
      observer::GetFlowsRequest req;
      req.set_follow(true);
      auto stream = stub->GetFlows(&ctx, req);
      stream->WaitForInitialMetadata();
      ready = true;
      observer::GetFlowsResponse r;
      while (stream->Read(&r)) {
        if (r.has_flow()) {
          delivered.fetch_add(1, std::memory_order_relaxed);
        } else if (r.has_lost_events()) {
          lost.fetch_add(r.lost_events().num_events_lost(), std::memory_order_relaxed);
        }
      }
      (void)stream->Finish();
    });
    while (!ready) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);  // the follower waits at the end of the ring
  }

  auto mix = event_mix();
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    if (rate > 0) {
      auto due = t0 + std::chrono::nanoseconds(static_cast<int64_t>(i * 1e9 / rate));
      while (Clock::now() < due) std::this_thread::yield();
    }
    auto e = mix[i % mix.size()];
    e.time = std::chrono::system_clock::now();
    // As the agent: the flow decoded into its entry's own arena.
    hubble::FlowEntryBuilder b;
    decoder.decode(e, &b.flow());
    ring->write(b.finish());
  }
  auto t1 = Clock::now();
  Result r;
  r.produced = n;
  if (with_reader) {
    auto deadline = Clock::now() + 30s;
    while (delivered + lost < n && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  }
  auto t2 = Clock::now();
  r.cpu_s = cpu_seconds() - cpu0;
  r.produce_s = seconds(t1 - t0);
  r.total_s = seconds(t2 - t0);
  r.delivered = delivered;
  r.lost = lost;
  r.accounted = !with_reader || delivered + lost == n;
  if (with_reader) {
    ctx.TryCancel();
    reader.join();
  }
  (*server)->stop();
  return r;
}

// HTTP requests as the node proxy reports them (a Gateway's: 7 request
// headers) -> FlowDecoder::decode_http (request and response flows) -> ring,
// no reader: the agent's CPU per proxied request for its L7 flows.
// arena: each entry built in an arena of its own (FlowEntryBuilder, as the
// agent does), else a heap Flow per entry.
double http_us_per_request(size_t ring_capacity, uint64_t n, bool arena) {
  test::FakeEnricher enricher;
  hubble::FlowDecoder decoder({"node1", {}, "default", 1}, &enricher);
  auto ring = std::make_shared<hubble::FlowRing>(ring_capacity);
  hubble::HttpEvent e;
  e.src = *datapath::parse_ipv4("10.0.0.100");
  e.dst = *datapath::parse_ipv4("10.0.0.240");
  e.sport = 40000;
  e.dport = 80;
  e.src_identity = 2;
  e.proxy_port = 15004;
  e.method = "GET";
  e.url = "http://api.example.com/v1/1k";
  e.headers = {{"Host", "api.example.com"},     {"User-Agent", "wrk"},
               {"Accept", "*/*"},              {"Connection", "keep-alive"},
               {"X-Request-Id", "4f1c2b7e"},    {"Accept-Encoding", "gzip"},
               {"X-Forwarded-For", "10.0.0.100"}};
  e.code = 200;
  e.forwarded = true;
  e.latency = 150us;
  double cpu0 = cpu_seconds();
  for (uint64_t i = 0; i < n; ++i) {
    e.time = std::chrono::system_clock::now();
    if (arena) {
      hubble::FlowEntryBuilder request, response;
      decoder.decode_http(e, request.flow(), response.flow());
      ring->write(request.finish());
      ring->write(response.finish());
    } else {
      auto [request, response] = decoder.decode_http(e);
      ring->write(hubble::make_flow_entry(std::move(request)));
      ring->write(hubble::make_flow_entry(std::move(response)));
    }
  }
  return (cpu_seconds() - cpu0) * 1e6 / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  int cpu = 0;
  size_t ring = hubble::kDefaultRingCapacity;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--cpu") == 0) cpu = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--ring") == 0) ring = std::strtoul(argv[i + 1], nullptr, 10);
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    std::perror("sched_setaffinity");
    return 1;
  }
  std::printf("flows pipeline on CPU %d only; ring capacity %zu; event mix: TCP SYN via Service, "
              "reply, policy drop, UDP to world\n\n",
              cpu, ring);
  print("decode + ring (no reader)", run(ring, 500000, 0, false));
  print("paced 50,000/s for 5 s", run(ring, 250000, 50000, true));
  print("unpaced, 500,000 events", run(ring, 500000, 0, true));
  std::printf("\nHTTP requests -> 2 L7 flows each -> ring (no reader): %.2f us of CPU per request "
              "(%.2f us with a heap Flow per entry)\n",
              http_us_per_request(ring, 200000, true), http_us_per_request(ring, 200000, false));
  std::printf("\nmax RSS %ld MiB\n", max_rss_kib() / 1024);
  return 0;
}
