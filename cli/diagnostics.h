// Printing problems found in user input (values, manifests, policies).
#pragma once

#include <vector>

#include "axon/client/diagnostic.h"
#include "cli/context.h"

namespace axon::cli {

// On stderr, one headline per problem, then "  fix: ..." and "  run: ...".
// "error:" is red and "warning:" yellow when stderr is a color terminal.
void print_diagnostics(Context& ctx, const std::vector<client::Diagnostic>& diagnostics);

// "2 errors, 1 warning"
std::string count_summary(const std::vector<client::Diagnostic>& diagnostics);

}  // namespace axon::cli
