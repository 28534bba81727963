// Kubernetes label selectors ({matchLabels, matchExpressions}) on labels.
#pragma once

#include <string>

#include "axon/client/yaml.h"

namespace axon::client {

// What of `selector` the labels do not meet ("app is \"b\", the selector
// wants \"a\""), or "" when the selector selects them. An empty selector
// selects everything.
std::string label_selector_mismatch(const Json& selector, const Json& labels);
bool label_selector_matches(const Json& selector, const Json& labels);

}  // namespace axon::client
