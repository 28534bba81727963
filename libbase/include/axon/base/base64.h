// Base64 as Kubernetes writes it (Secret data, kubeconfig *-data).
#pragma once

#include <string>

#include "axon/base/result.h"

namespace axon {

// Standard base64 (RFC 4648; the URL-safe alphabet too), padding optional,
// whitespace ignored.
Result<std::string> base64_decode(const std::string& text);

}  // namespace axon
