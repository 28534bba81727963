// Asking a gRPC server whether it serves, with the standard health protocol
// (proto/grpc/health/v1). Used against axon's agents and relay, and works
// against any Hubble server.
#pragma once

#include <chrono>
#include <string>

#include "axon/base/result.h"

namespace axon::client {

enum class ServingStatus { unknown, serving, not_serving, service_unknown };

std::string to_string(ServingStatus s);

// target: "unix:///run/axon/agent.sock", "unix:relative.sock" or "host:port".
// service: "" for the whole server, or a service name ("hubble.server.Observer").
// An error means the server could not be asked (nothing listening, timeout);
// a server that answers "not serving" is a value, not an error.
Result<ServingStatus> check_health(const std::string& target, const std::string& service,
                                   std::chrono::milliseconds timeout);

}  // namespace axon::client
