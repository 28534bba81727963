// Two nodes and an external client on one LAN, for NodePort tests and
// benchmarks: node-1 (pods b1 10.244.1.10, c1 10.244.1.11) and node-2 (pod b2
// 10.244.2.10), each a Topology (axon-t<pid>-n1/-n2, with their pods), and a
// client namespace, all three plugged into a bridge in a namespace of its own
// (10.0.0.11, 10.0.0.12, 10.0.0.100 on each one's eth0). Each node routes the
// other's pod CIDR via the other's LAN address. `setup` gives a datapath the
// state of one node (ipcache, its pods' endpoints, from-netdev on its eth0).
// Header only; nothing here touches the root namespace beyond creating and
// deleting these namespaces (their owners delete them, also on failure).
#pragma once

#include <net/if.h>

#include <string>
#include <utility>
#include <vector>

#include "axon/datapath/datapath.h"
#include "netns.h"
#include "packet_builder.h"

namespace axon::test {

class TwoNodeLan {
 public:
  static constexpr const char* kNode1 = "10.0.0.11";
  static constexpr const char* kNode2 = "10.0.0.12";
  static constexpr const char* kClient = "10.0.0.100";
  // Identities the datapaths are given: the node itself, the other node, the
  // pods (c1 apart, as a client pod).
  static constexpr uint32_t kWorld = 2, kHost = 1, kRemoteNode = 6, kIdBackend = 4000,
                            kIdClientPod = 4100;

  Topology n1, n2;
  NetNs lan, client;
  uint32_t n1_eth0 = 0, n2_eth0 = 0;  // each node's LAN device, in its namespace

  static Result<TwoNodeLan> create() {
    auto n1 = Topology::create({{"b1", "10.244.1.10"}, {"c1", "10.244.1.11"}}, "n1");
    if (!n1) return n1.error();
    auto n2 = Topology::create({{"b2", "10.244.2.10"}}, "n2");
    if (!n2) return n2.error();
    auto lan = NetNs::create("lan");
    if (!lan) return lan.error();
    auto client = NetNs::create("client");
    if (!client) return client.error();
    TwoNodeLan t(std::move(*n1), std::move(*n2), std::move(*lan), std::move(*client));
    if (auto s = t.build(); !s) return s.error();
    return t;
  }

  // The datapath state of node 1 or 2: host and remote node in the ipcache,
  // both pod CIDRs as pods, the node's pods as endpoints, from-netdev on eth0.
  Status setup(datapath::Datapath& dp, int node) {
    Topology& t = node == 1 ? n1 : n2;
    const char* self = node == 1 ? kNode1 : kNode2;
    const char* other = node == 1 ? kNode2 : kNode1;
    auto ip = [](const char* s) { return datapath::Ipv4{parse_ipv4(s)}; };
    if (auto s = dp.ipcache().upsert({ip(self), 32}, kHost); !s) return s;
    if (auto s = dp.ipcache().upsert({ip(other), 32}, kRemoteNode); !s) return s;
    for (const char* cidr : {"10.244.1.0", "10.244.2.0"})
      if (auto s = dp.ipcache().upsert({ip(cidr), 24}, kIdBackend); !s) return s;
    uint32_t ep = 1;
    InNetns in(t.node());
    for (const char* name :
         node == 1 ? std::vector<const char*>{"b1", "c1"} : std::vector<const char*>{"b2"}) {
      Pod& p = t.pod(name);
      const uint32_t id = std::string(name) == "c1" ? kIdClientPod : kIdBackend;
      if (auto s = dp.endpoints().attach({p.host_ifindex, ip(p.ip.c_str()), id, ep++, p.mac}); !s)
        return s;
    }
    return dp.netdevs().attach({node == 1 ? n1_eth0 : n2_eth0, ip(self)});
  }

  Pod& pod(const std::string& name) { return name == "b2" ? n2.pod(name) : n1.pod(name); }

 private:
  TwoNodeLan(Topology a, Topology b, NetNs l, NetNs c)
      : n1(std::move(a)), n2(std::move(b)), lan(std::move(l)), client(std::move(c)) {}

  static Status step(int rc, const std::string& what) {
    if (rc != 0)
      return Error{"two-node LAN: " + what + " failed (exit " + std::to_string(rc) + ")"};
    return {};
  }

  Status plug(const NetNs& ns, const std::string& name, const std::string& ip, uint32_t* ifindex) {
    struct Step {
      const NetNs& in;
      std::vector<std::string> argv;
      std::string what;
    };
    if (auto s = step(run_command({"ip", "-n", lan.name(), "link", "add", name, "type", "veth",
                                   "peer", "name", "eth0", "netns", ns.name()}),
                      "veth " + name);
        !s)
      return s;
    for (const Step& st : {Step{lan, {"ip", "link", "set", name, "master", "br0", "up"}, "plug"},
                           Step{ns, {"ip", "addr", "add", ip + "/24", "dev", "eth0"}, "addr"},
                           Step{ns, {"ip", "link", "set", "eth0", "up"}, "up"},
                           Step{ns, {"ip", "link", "set", "lo", "up"}, "lo"}}) {
      if (auto s = step(st.in.exec(st.argv), st.what + " " + name); !s) return s;
    }
    if (ifindex) {
      InNetns in(ns);
      *ifindex = if_nametoindex("eth0");
    }
    return {};
  }

  Status build() {
    if (auto s = step(lan.exec({"ip", "link", "add", "br0", "type", "bridge"}), "bridge"); !s)
      return s;
    if (auto s = step(lan.exec({"ip", "link", "set", "br0", "up"}), "bridge up"); !s) return s;
    if (auto s = plug(n1.node(), "n1", kNode1, &n1_eth0); !s) return s;
    if (auto s = plug(n2.node(), "n2", kNode2, &n2_eth0); !s) return s;
    if (auto s = plug(client, "cl", kClient, nullptr); !s) return s;
    if (auto s = step(n1.node().exec({"ip", "route", "add", "10.244.2.0/24", "via", kNode2}),
                      "route n1");
        !s)
      return s;
    return step(n2.node().exec({"ip", "route", "add", "10.244.1.0/24", "via", kNode1}), "route n2");
  }
};

}  // namespace axon::test
