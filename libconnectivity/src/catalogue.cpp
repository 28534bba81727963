// The catalogue of `axon connectivity test` (cilium-cli's
// connectivity/tests): each test's name, its policies and its actions.
#include "axon/connectivity/catalogue.h"

namespace axon::connectivity {
namespace {

Json cnp(const std::string& ns, const std::string& name, Json spec) {
  return {{"apiVersion", "cilium.io/v2"},
          {"kind", "CiliumNetworkPolicy"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", std::move(spec)}};
}

}  // namespace

void run_catalogue(Suite& s) {
  const std::string ns = s.ns();
  auto url = [](const std::string& host, int port = 8080) {
    return "http://" + host + ":" + std::to_string(port) + "/";
  };
  const auto& c = s.client;
  auto to_pod = [&](const PodRef& p, int port = 8080) {
    return ns + "/" + p.name + " (" + p.ip + ":" + std::to_string(port) + ")";
  };
  s.run("no-policies", [&](TestResult& t) {
    s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::success, s.echo_same.name);
    if (s.nodes.size() > 1)
      s.http(t, c, url(s.echo_other.ip), to_pod(s.echo_other), Expect::success, s.echo_other.name);
    s.http(t, c, url(s.client2.ip), to_pod(s.client2), Expect::success, s.client2.name);
    s.udp(t, c, s.echo_udp, 9000, Expect::success);
    s.ping(t, c, s.echo_other, Expect::success);
    s.ping(t, c, s.echo_same, Expect::success);
    s.http(t, c, url("echo-same-node." + ns), ns + "/echo-same-node (" + s.echo_same_vip + ":8080)",
           Expect::success, s.echo_same.name);
    s.http(t, c, url("echo-other-node." + ns), ns + "/echo-other-node (" + s.echo_other_vip + ":8080)",
           Expect::success, s.echo_other.name);
    s.http(t, c, url(s.world_ip), "world " + s.world_ip + ":8080", Expect::success);
    s.http_from_node(t, s.echo_same.node, s.echo_same, Expect::success);
  });
  s.run("dns", [&](TestResult& t) {
    s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", false, Expect::success, s.echo_same_vip);
    s.dns(t, c, "echo-other-node." + ns + ".svc.cluster.local", true, Expect::success, s.echo_other_vip);
    s.dns_large(t, c, Expect::success);
  });
  s.run("allow-all",
        [&](TestResult& t) {
          s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::success, s.echo_same.name);
          s.http(t, s.client2, url(s.echo_other.ip), to_pod(s.echo_other), Expect::success,
                 s.echo_other.name);
        },
        {cnp(ns, "allow-all", {{"endpointSelector", Json::object()},
                               {"ingress", Json::array({{{"fromEntities", Json::array({"all"})}}})},
                               {"egress", Json::array({{{"toEntities", Json::array({"all"})}}})}})});
  s.run("client-ingress",
        [&](TestResult& t) {
          s.http(t, s.client2, url(s.client.ip), to_pod(s.client), Expect::success, s.client.name);
          s.http(t, s.echo_same, url(s.client.ip), to_pod(s.client), Expect::drop);
        },
        {cnp(ns, "client-ingress",
             {{"endpointSelector", {{"matchLabels", {{"app", "client"}}}}},
              {"ingress", Json::array({{{"fromEndpoints",
                                          Json::array({{{"matchLabels", {{"kind", "client"}}}}})}}})}})});
  s.run("echo-ingress",
        [&](TestResult& t) {
          s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::success, s.echo_same.name);
          s.http(t, c, url(s.echo_same.ip, 8081), to_pod(s.echo_same, 8081), Expect::drop);
          s.http(t, s.echo_other, url(s.echo_same.ip), to_pod(s.echo_same), Expect::drop);
        },
        {cnp(ns, "echo-ingress",
             {{"endpointSelector", {{"matchLabels", {{"app", "echo-same-node"}}}}},
              {"ingress",
               Json::array({{{"fromEndpoints", Json::array({{{"matchLabels", {{"kind", "client"}}}}})},
                             {"toPorts", Json::array({{{"ports", Json::array({{{"port", "8080"},
                                                                               {"protocol", "TCP"}}})}}})}}})}})});
  // cilium-cli's echo-ingress-l7: http rules on echo's port; the node's
  // proxy answers what they do not allow with 403.
  s.run("echo-ingress-l7",
        [&](TestResult& t) {
          s.http_l7(t, c, "GET", url(s.echo_same.ip), to_pod(s.echo_same), 200);
          s.http_l7(t, c, "GET", url(s.echo_same.ip) + "public", to_pod(s.echo_same) + "/public", 200);
          s.http_l7(t, c, "POST", url(s.echo_same.ip), to_pod(s.echo_same), 403);
          s.http_l7(t, c, "GET", url(s.echo_same.ip) + "private", to_pod(s.echo_same) + "/private", 403);
          s.http(t, c, url(s.echo_other.ip), to_pod(s.echo_other), Expect::success, s.echo_other.name);
        },
        {cnp(ns, "echo-ingress-l7",
             {{"endpointSelector", {{"matchLabels", {{"app", "echo-same-node"}}}}},
              {"ingress",
               Json::array({{{"fromEndpoints", Json::array({{{"matchLabels", {{"kind", "client"}}}}})},
                             {"toPorts",
                              Json::array({{{"ports", Json::array({{{"port", "8080"}, {"protocol", "TCP"}}})},
                                            {"rules", {{"http", Json::array({{{"method", "GET"}, {"path", "/"}},
                                                                             {{"method", "GET"}, {"path", "/public"}}})}}}}})}}})}})});
  // cilium-cli's client-egress-l7 and client-egress-l7-method: http rules on
  // client2's egress to the echo pods; its node's proxy answers the rest with
  // 403 and forwards the others from client2's own address (on either node).
  auto client2_egress_l7 = [&](const std::string& name, Json http) {
    Json kube_dns = {{"matchLabels", {{"k8s:io.kubernetes.pod.namespace", "kube-system"}, {"k8s-app", "kube-dns"}}}};
    return cnp(ns, name,
               {{"endpointSelector", {{"matchLabels", {{"other", "client"}}}}},
                {"egress",
                 Json::array({{{"toEndpoints", Json::array({{{"matchLabels", {{"kind", "echo"}}}}})},
                               {"toPorts", Json::array({{{"ports", Json::array({{{"port", "8080"}, {"protocol", "TCP"}}})},
                                                         {"rules", {{"http", std::move(http)}}}}})}},
                              {{"toEndpoints", Json::array({kube_dns})},
                               {"toPorts", Json::array({{{"ports", Json::array({{{"port", "53"}, {"protocol", "ANY"}}})}}})}}})}});
  };
  s.run("client-egress-l7",
        [&](TestResult& t) {
          const auto& c2 = s.client2;
          s.http_l7(t, c2, "GET", url(s.echo_same.ip), to_pod(s.echo_same), 200);
          if (s.nodes.size() > 1) s.http_l7(t, c2, "GET", url(s.echo_other.ip), to_pod(s.echo_other), 200);
          s.http_l7(t, c2, "GET", url(s.echo_same.ip) + "private", to_pod(s.echo_same) + "/private", 403);
          s.http_l7(t, c2, "POST", url(s.echo_same.ip), to_pod(s.echo_same), 403);
          s.http(t, c, url(s.echo_same.ip) + "private", to_pod(s.echo_same), Expect::success, s.echo_same.name);
        },
        {client2_egress_l7("client-egress-l7-http", Json::array({{{"method", "GET"}, {"path", "/"}}}))});
  s.run("client-egress-l7-method",
        [&](TestResult& t) {
          const auto& c2 = s.client2;
          s.http_l7(t, c2, "POST", url(s.echo_same.ip), to_pod(s.echo_same), 200);
          if (s.nodes.size() > 1) s.http_l7(t, c2, "POST", url(s.echo_other.ip), to_pod(s.echo_other), 200);
          s.http_l7(t, c2, "GET", url(s.echo_same.ip), to_pod(s.echo_same), 403);
        },
        {client2_egress_l7("client-egress-l7-http-method", Json::array({{{"method", "POST"}, {"path", "/"}}}))});
  // cilium-cli's to-fqdns: egress to a DNS name (the LAN host, by a headless
  // Service): allowed once the DNS proxy saw the answer; nothing else.
  s.run("to-fqdns",
        [&](TestResult& t) {
          const std::string world = "world." + ns + ".svc.cluster.local";
          s.http(t, c, url(world), "world " + world + ":8080", Expect::success);
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", false, Expect::success, s.echo_same_vip);
          s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::drop);
        },
        {cnp(ns, "client-egress-to-fqdns",
             {{"endpointSelector", {{"matchLabels", {{"kind", "client"}}}}},
              {"egress",
               Json::array({{{"toEndpoints", Json::array({{{"matchLabels",
                                                            {{"k8s:io.kubernetes.pod.namespace", "kube-system"},
                                                             {"k8s-app", "kube-dns"}}}}})},
                             {"toPorts", Json::array({{{"ports", Json::array({{{"port", "53"}, {"protocol", "ANY"}}})},
                                                       {"rules", {{"dns", Json::array({{{"matchPattern", "*"}}})}}}}})}},
                            {{"toFQDNs", Json::array({{{"matchName", "world." + ns + ".svc.cluster.local"}}})},
                             {"toPorts", Json::array({{{"ports", Json::array({{{"port", "8080"}, {"protocol", "TCP"}}})}}})}}})}})});
  s.run("default-deny",
        [&](TestResult& t) {
          s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::drop);
          s.http(t, c, url(s.echo_other_vip), ns + "/echo-other-node (" + s.echo_other_vip + ":8080)",
                 Expect::drop);
          s.ping(t, c, s.echo_other, Expect::drop);
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", false, Expect::drop, "");
          s.http(t, c, url(s.world_ip), "world " + s.world_ip + ":8080", Expect::drop);
        },
        {cnp(ns, "default-deny", {{"endpointSelector", Json::object()},
                                  {"ingress", Json::array({Json::object()})},
                                  {"egress", Json::array({Json::object()})}})});
  auto dns_policy = [&](const std::string& name, Json ports) {
    return cnp(ns, name,
               {{"endpointSelector", {{"matchLabels", {{"kind", "client"}}}}},
                {"egress", Json::array({{{"toEndpoints",
                                          Json::array({{{"matchLabels",
                                                         {{"k8s:io.kubernetes.pod.namespace", "kube-system"},
                                                          {"k8s-app", "kube-dns"}}}}})},
                                         {"toPorts", Json::array({{{"ports", ports}}})}}})}});
  };
  s.run("dns-only",
        [&](TestResult& t) {
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", false, Expect::success, s.echo_same_vip);
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", true, Expect::success, s.echo_same_vip);
          s.dns_large(t, c, Expect::success);
          s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::drop);
          s.http(t, c, url(s.world_ip), "world " + s.world_ip + ":8080", Expect::drop);
        },
        {dns_policy("dns-only", Json::array({{{"port", "53"}, {"protocol", "UDP"}},
                                              {{"port", "53"}, {"protocol", "TCP"}}}))});
  s.run("dns-udp-only",
        [&](TestResult& t) {
          // The seed's warning: with UDP only, answers that need TCP fail.
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", false, Expect::success, s.echo_same_vip);
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", true, Expect::drop, "");
          s.dns_large(t, c, Expect::drop);
        },
        {dns_policy("dns-udp-only", Json::array({{{"port", "53"}, {"protocol", "UDP"}}}))});
  s.run("service-no-backends", [&](TestResult& t) {
    s.http(t, c, url(s.nobackend_vip), ns + "/no-backends (" + s.nobackend_vip + ":8080)", Expect::drop);
  });
  // cilium-cli's pod-to-ingress-service, through a Gateway: the client pods
  // reach the Gateway's Service ClusterIP; the node proxy routes by path to
  // either echo Service.
  const bool gateways = s.gateway_api();
  s.run(
      "pod-to-ingress-service",
      [&](TestResult& t) {
        const std::vector<Json> objects = {
            {{"apiVersion", "gateway.networking.k8s.io/v1"},
             {"kind", "Gateway"},
             {"metadata", {{"name", "echo"}, {"namespace", ns}}},
             {"spec",
              {{"gatewayClassName", "cilium"},
               {"listeners", Json::array({{{"name", "http"}, {"port", 80}, {"protocol", "HTTP"}}})}}}},
            {{"apiVersion", "gateway.networking.k8s.io/v1"},
             {"kind", "HTTPRoute"},
             {"metadata", {{"name", "echo"}, {"namespace", ns}}},
             {"spec",
              {{"parentRefs", Json::array({{{"name", "echo"}}})},
               {"rules",
                Json::array({{{"matches", Json::array({{{"path", {{"type", "PathPrefix"}, {"value", "/other"}}}}})},
                              {"backendRefs", Json::array({{{"name", "echo-other-node"}, {"port", 8080}}})}},
                             {{"backendRefs", Json::array({{{"name", "echo-same-node"}, {"port", 8080}}})}}})}}}}};
        const std::string vip = s.gateway_up(objects, "echo");
        if (vip.empty()) {
          t.actions.push_back({"gateway", "", ns + "/echo", false,
                               "the Gateway's Service cilium-gateway-echo did not route to an echo within 30 s"});
        } else {
          const std::string to = ns + "/cilium-gateway-echo (" + vip + ":80)";
          s.http(t, c, "http://" + vip + "/", to, Expect::success, s.echo_same.name);
          s.http(t, s.client2, "http://" + vip + "/other", to + "/other", Expect::success, s.echo_other.name);
        }
        s.remove_objects(objects);
      },
      {}, false, gateways ? "" : "Gateway API is disabled (gatewayAPI.enabled)");
}

}  // namespace axon::connectivity
