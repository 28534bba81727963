// The flow ring and GetFlows' reading rules over it.
#include "axon/hubble/ring.h"

#include <doctest/doctest.h>

#include <thread>

#include "flow_fixtures.h"

using namespace axon::hubble;
using namespace std::chrono_literals;
using axon::test::at_ms;

namespace {

// A flow at 2023-12-01T12:00:00Z + ms, from pod `pod` (namespace default).
FlowEntry flow_at(int64_t ms, const std::string& pod = "a", flow::Verdict v = flow::FORWARDED) {
  flow::Flow f;
  set_unix_ns(f.mutable_time(),
              std::chrono::duration_cast<std::chrono::nanoseconds>(at_ms(ms).time_since_epoch())
                  .count());
  f.set_node_name("node1");
  f.set_verdict(v);
  f.mutable_source()->set_namespace_("default");
  f.mutable_source()->set_pod_name(pod);
  return make_flow_entry(std::move(f));
}

int64_t ms_of(const observer::GetFlowsResponse& r) {
  return (to_unix_ns(r.time()) - int64_t{1701432000} * 1000000000) / 1000000;
}

// Everything a non-follow reader returns: flow times, or -N for N lost.
std::vector<int64_t> read_all(const FlowRing& ring, const observer::GetFlowsRequest& req) {
  auto reader = FlowRingReader::open(ring, req);
  REQUIRE_MESSAGE(reader.ok(), (reader.ok() ? "" : reader.error().message));
  std::vector<int64_t> out;
  FlowEntry e;
  while (reader->next(&e, std::chrono::steady_clock::now() + 1s) == FlowRingReader::Next::entry) {
    out.push_back(e->has_flow() ? ms_of(*e) : -static_cast<int64_t>(e->lost_events().num_events_lost()));
  }
  return out;
}

observer::GetFlowsRequest req(uint64_t number = 0, bool first = false) {
  observer::GetFlowsRequest r;
  r.set_number(number);
  r.set_first(first);
  return r;
}

}  // namespace

TEST_CASE("the ring keeps the newest entries and counts what it saw") {
  FlowRing ring(4);
  for (int i = 0; i < 10; ++i) CHECK(ring.write(flow_at(i)) == static_cast<uint64_t>(i));
  auto s = ring.stats();
  CHECK(s.capacity == 4);
  CHECK(s.size == 4);
  CHECK(s.seen_flows == 10);
  CHECK(ring.oldest() == 6);
  CHECK(ring.next() == 10);
  CHECK(ring.at(5) == nullptr);
  CHECK(ms_of(*ring.at(6)) == 6);
  CHECK(read_all(ring, req()) == std::vector<int64_t>{6, 7, 8, 9});

  // A reader that asks for overwritten entries learns exactly how many.
  std::vector<FlowEntry> out;
  auto b = ring.read(2, 100, out);
  CHECK(b.lost == 4);
  CHECK(b.first == 6);
  CHECK(out.size() == 4);
}

TEST_CASE("datapath losses become lost-event records that pass every filter") {
  FlowRing ring(8);
  ring.write(flow_at(1));
  ring.write_lost(flow::PERF_EVENT_RING_BUFFER, 17, at_ms(2), "node1");
  ring.write(flow_at(3));
  CHECK(ring.stats().lost_events == 17);
  CHECK(ring.stats().seen_flows == 2);
  auto r = req();
  r.add_whitelist()->add_source_pod("default/nobody");
  CHECK(read_all(ring, r) == std::vector<int64_t>{-17});
}

TEST_CASE("number, first, since and until as Hubble's server reads them") {
  FlowRing ring(100);
  for (int i = 0; i < 10; ++i) ring.write(flow_at(i * 100, i % 2 ? "odd" : "even"));

  CHECK(read_all(ring, req(3)) == std::vector<int64_t>{700, 800, 900});
  CHECK(read_all(ring, req(3, true)) == std::vector<int64_t>{0, 100, 200});
  CHECK(read_all(ring, req(0)).size() == 10);  // no number, no follow: the whole ring
  CHECK(read_all(ring, req(1000)).size() == 10);

  // Filters count towards number: the last 2 odd ones.
  auto odd = req(2);
  odd.add_whitelist()->add_source_pod("default/odd");
  CHECK(read_all(ring, odd) == std::vector<int64_t>{700, 900});
  auto odd_first = req(2, true);
  odd_first.add_whitelist()->add_source_pod("default/odd");
  CHECK(read_all(ring, odd_first) == std::vector<int64_t>{100, 300});
  auto not_odd = req(3);
  not_odd.add_blacklist()->add_source_pod("default/odd");
  CHECK(read_all(ring, not_odd) == std::vector<int64_t>{400, 600, 800});

  auto since = req();
  axon::hubble::set_unix_ns(since.mutable_since(), (int64_t{1701432000} * 1000 + 650) * 1000000);
  CHECK(read_all(ring, since) == std::vector<int64_t>{700, 800, 900});
  auto until = req();
  axon::hubble::set_unix_ns(until.mutable_until(), (int64_t{1701432000} * 1000 + 250) * 1000000);
  CHECK(read_all(ring, until) == std::vector<int64_t>{0, 100, 200});
  auto window = since;
  *window.mutable_until() = until.until();
  axon::hubble::set_unix_ns(window.mutable_since(), (int64_t{1701432000} * 1000 + 50) * 1000000);
  CHECK(read_all(ring, window) == std::vector<int64_t>{100, 200});
  auto first_since = req(2, true);
  *first_since.mutable_since() = since.since();
  CHECK(read_all(ring, first_since) == std::vector<int64_t>{700, 800});
}

TEST_CASE("bad requests are refused") {
  FlowRing ring;
  auto r = req(0, true);
  r.set_follow(true);
  auto reader = FlowRingReader::open(ring, r);
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.error().message == "first cannot be specified with follow");
  auto bad = req();
  bad.add_whitelist()->add_source_ip("nope");
  CHECK_FALSE(FlowRingReader::open(ring, bad).ok());
}

TEST_CASE("a follower gets new flows, and exactly what it missed when it falls behind") {
  FlowRing ring(8);
  ring.write(flow_at(0));
  auto r = req();
  r.set_follow(true);
  auto reader = FlowRingReader::open(ring, r);
  REQUIRE(reader.ok());
  FlowEntry e;
  // Follow without number starts after the newest entry.
  CHECK(reader->next(&e, std::chrono::steady_clock::now() + 50ms) == FlowRingReader::Next::timeout);

  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    ring.write(flow_at(1));
  });
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(reader->next(&e, t0 + 2s) == FlowRingReader::Next::entry);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(ms_of(*e) == 1);
  writer.join();

  // 20 more while the reader sleeps: 8 survive, 12 are reported lost.
  for (int i = 2; i < 22; ++i) ring.write(flow_at(i));
  REQUIRE(reader->next(&e, std::chrono::steady_clock::now() + 1s) == FlowRingReader::Next::entry);
  REQUIRE(e->has_lost_events());
  CHECK(e->lost_events().source() == flow::HUBBLE_RING_BUFFER);
  CHECK(e->lost_events().num_events_lost() == 12);
  uint64_t delivered = 0;
  while (reader->next(&e, std::chrono::steady_clock::now() + 20ms) == FlowRingReader::Next::entry)
    ++delivered;
  CHECK(delivered == 8);  // 1 + 12 + 8 + the first = 22 written

  // close() ends a follower.
  ring.close();
  CHECK(reader->next(&e, std::chrono::steady_clock::now() + 1s) == FlowRingReader::Next::end);
}

TEST_CASE("follow with number rewinds first, then keeps following") {
  FlowRing ring(16);
  for (int i = 0; i < 5; ++i) ring.write(flow_at(i));
  auto r = req(2);
  r.set_follow(true);
  auto reader = FlowRingReader::open(ring, r);
  REQUIRE(reader.ok());
  FlowEntry e;
  std::vector<int64_t> got;
  for (int i = 0; i < 2; ++i) {
    REQUIRE(reader->next(&e, std::chrono::steady_clock::now() + 1s) == FlowRingReader::Next::entry);
    got.push_back(ms_of(*e));
  }
  ring.write(flow_at(5));
  REQUIRE(reader->next(&e, std::chrono::steady_clock::now() + 1s) == FlowRingReader::Next::entry);
  got.push_back(ms_of(*e));
  CHECK(got == std::vector<int64_t>{3, 4, 5});
}

TEST_CASE("an entry built in its own arena is the entry make_flow_entry makes, and outlives its builder") {
  // A flow larger than the arena's inline block (labels spill into more
  // blocks) and a small one.
  for (int labels : {1, 200}) {
    CAPTURE(labels);
    flow::Flow f;
    set_unix_ns(f.mutable_time(), int64_t{1701432000} * 1000000000 + 5);
    f.set_node_name("node1");
    f.set_verdict(flow::DROPPED);
    f.mutable_source()->set_pod_name("client-with-a-name-longer-than-the-small-string-buffer");
    for (int i = 0; i < labels; ++i) f.mutable_destination()->add_labels("k8s:label-" + std::to_string(i) + "=value");
    f.mutable_l7()->mutable_http()->set_url("http://api.example.com/v1/a/path/long/enough/to/be/allocated");
    FlowEntry built;
    {
      FlowEntryBuilder b;
      b.flow() = f;  // copied into the arena
      CHECK(b.flow().GetArena() != nullptr);
      built = b.finish();
    }
    const FlowEntry heap = make_flow_entry(f);
    CHECK(built->SerializeAsString() == heap->SerializeAsString());
    CHECK(built->node_name() == "node1");
    CHECK(to_unix_ns(built->time()) == to_unix_ns(f.time()));
    // Held by the ring and by a reader after the ring let it go.
    FlowRing ring(1);
    ring.write(built);
    FlowEntry kept = built;
    built.reset();
    ring.write(build_flow_entry([](flow::Flow& g) { g.set_node_name("node2"); }));
    CHECK(kept->flow().destination().labels_size() == labels);
    CHECK(kept->flow().l7().http().url() == f.l7().http().url());
  }
}
