// L2 announcements (the agent's part): one node at a time answers ARP for
// each LoadBalancer/external IP the CiliumL2AnnouncementPolicies select,
// elected through the store, with gratuitous ARP when a node takes an
// address over.
//
// The election. Cilium renews one Lease per Service every retry period: a
// store write per Service per period (100 Services, 2 s: 50 writes/s), so
// its defaults are slow (15 s) to keep that down. Here the leases that are
// renewed are per node:
//
//   axon-l2-node-<node>          renewed by its node every retry period,
//                                annotated with a term (a fresh uid each
//                                time the node takes it) and the node's
//                                devices that are up
//   cilium-l2announce-<ns>-<svc> Cilium's Lease, holderIdentity = the node;
//                                written only when it changes hands, with
//                                the holder's term; valid while that term
//                                lasts
//
// so renewals cost one write per node per period, whatever the number of
// Services. A node whose lease another node has not seen renewed for the
// lease duration is ended by that node (a compare-and-swap at the version
// it saw: a renewal in between wins), which frees every Service Lease of
// that term at once; the live candidates take them over (each one write,
// a compare-and-swap too). Never two holders: the holder's kernel stops
// answering ARP at its renew deadline (axon_l2_lease_v1), before any other
// node may end its term (lease duration > renew deadline), and a node
// announces an address only when it holds the Lease of every Service that
// has it (the sharing-key Services of one address move together).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "axon/client/cluster_store.h"
#include "axon/client/informer.h"
#include "axon/client/l2announce.h"
#include "axon/datapath/l2.h"

namespace axon::agent {

struct L2AnnouncerConfig {
  std::string node;
  std::string ns;  // where the Leases live (the agent's namespace)
  std::chrono::milliseconds lease_duration{2000}, renew_deadline{1500}, retry_period{500};
  std::vector<std::string> devices;  // the node's devices (`devices`)
  bool external_ips = false;
};

class L2Announcer {
 public:
  // The informers (Services, EndpointSlices, Nodes) are the agent's; it
  // watches Leases and CiliumL2AnnouncementPolicies itself.
  L2Announcer(L2AnnouncerConfig c, client::ClusterStore& store, client::Informer& services,
              client::Informer& slices, client::Informer& nodes, datapath::L2Responder& l2);
  ~L2Announcer();

  // Runs the election on its own thread until stop(); `netdev_ready` says
  // when from-netdev (which answers ARP) is on the devices.
  void start(std::function<bool()> netdev_ready);
  // Stops: withdraws every address and gives the Leases up, so the other
  // nodes take over at once (as client-go's ReleaseOnCancel).
  void stop();

  struct View {
    bool live = false;     // this node's lease is renewed
    bool failing = false;  // it has not been for longer than the renew deadline
    std::string term;
    std::vector<std::string> held;                          // Services whose Lease it holds
    std::map<std::string, std::vector<std::string>> announced;  // IP -> devices
  };
  View view() const;

 private:
  struct Seen {
    std::string version;
    std::chrono::steady_clock::time_point at;
  };
  void run();
  void tick();
  bool renew(std::chrono::steady_clock::time_point now);
  void elect(std::chrono::steady_clock::time_point now);
  void announce(const std::map<std::string, std::set<std::string>>& want);
  void release_all();
  bool write(client::Json lease, bool create);

  L2AnnouncerConfig c_;
  client::ClusterStore& store_;
  client::Informer &services_, &slices_, &nodes_;
  datapath::L2Responder& l2_;
  client::Informer leases_, policies_;
  std::function<bool()> netdev_ready_;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  // The announcer's thread only.
  client::Json written_;  // this node's lease as last written
  std::chrono::steady_clock::time_point renewed_{};  // when the last successful renewal began
  std::chrono::steady_clock::time_point started_{};
  std::map<std::string, Seen> seen_;  // other nodes' leases: version, when it changed (our clock)
  std::map<std::string, std::chrono::steady_clock::time_point> free_since_;  // Service -> first seen free
  std::set<std::string> devices_up_;
  // Leases this node wrote that the watch has not shown yet, with the
  // version the watch showed then.
  struct Written {
    client::Json lease;
    std::string base;
  };
  std::map<std::string, Written> overlay_;
  client::L2Plan plan_;
  std::string last_seen_;  // the Services' holders and candidates as last logged
  std::array<uint64_t, 4> plan_gens_{~0ull, ~0ull, ~0ull, ~0ull};  // informer generations plan_ was made from
  std::map<datapath::Announcement, int> garp_left_;  // gratuitous ARPs still to send

  mutable std::mutex mu_;  // view_
  View view_;
};

}  // namespace axon::agent
