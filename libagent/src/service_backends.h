// The ready backends of Services, from their EndpointSlices (services.cpp),
// shared by the Service maps and the Gateway routes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "axon/client/yaml.h"
#include "axon/datapath/services.h"

namespace axon::agent {

struct ReadyBackend {
  datapath::Backend backend;
  std::string node;  // the EndpointSlice endpoint's nodeName
};

// Ready backends per "namespace/name" and port name; `self`: this node (the
// backends' `local`).
std::map<std::string, std::map<std::string, std::vector<ReadyBackend>>> ready_backends(
    const std::vector<client::Json>& slices, const std::string& self);

// The Gateway proxy's listening ports, HTTP, TCP, HTTPS and TLS passthrough (Cilium gives each
// Gateway's Envoy listener a proxy port; one per protocol here: the
// frontend tells the Gateways apart).
inline constexpr uint16_t kGatewayProxyPort = 15003;
inline constexpr uint16_t kGatewayTcpProxyPort = 15004;
inline constexpr uint16_t kGatewayTlsProxyPort = 15005;
inline constexpr uint16_t kGatewayPassthroughProxyPort = 15006;

}  // namespace axon::agent
