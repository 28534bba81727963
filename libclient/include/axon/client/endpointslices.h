// What the operator keeps in EndpointSlices: for every Service with a
// selector, the addresses of the pods it selects, their readiness and node,
// and the Service's ports resolved against the pods' (named) ports.
#pragma once

#include <vector>

#include "axon/client/yaml.h"

namespace axon::client {

// One EndpointSlice per Service ("<service>-axon"), labelled
// kubernetes.io/service-name and managed-by axon-operator.
std::vector<Json> desired_endpoint_slices(const std::vector<Json>& services,
                                          const std::vector<Json>& pods);

// Does `selector` (a Service's spec.selector map) match these labels?
bool map_selector_matches(const Json& selector, const Json& labels);

}  // namespace axon::client
