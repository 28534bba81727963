// `axon policy fix`: rewrites what validation can repair by itself — an
// empty ingress/egress list that enables no default deny, Kubernetes
// NetworkPolicy words inside a Cilium policy, unquoted ports, lower-case
// protocols, a wrong apiVersion — and leaves everything else as it was.
// Documents that need no change keep their text byte for byte (comments
// included); a changed document is printed anew, keeping the comment lines
// that lead it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "axon/base/diagnostic.h"

namespace axon::policy {

struct FixResult {
  std::string text;  // the whole file, fixed
  bool changed = false;
  std::vector<std::string> applied;  // one line per rewrite, with the mapping it used
  std::vector<Diagnostic> remaining;    // problems of the fixed text (errors need a person)
  std::vector<int> comments_dropped;  // changed documents whose inner comments were lost
};

FixResult fix_text(std::string_view text, const std::string& file);

}  // namespace axon::policy
