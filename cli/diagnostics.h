// Printing problems found in user input (values, manifests, policies).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "axon/base/diagnostic.h"
#include "cli/context.h"

namespace axon::cli {

// On stderr, one headline per problem, then "  fix: ..." and "  run: ...".
// "error:" is red and "warning:" yellow when stderr is a color terminal.
void print_diagnostics(Context& ctx, const std::vector<Diagnostic>& diagnostics);

// One problem as a JSON object (-o json): severity, file, line, path,
// message, and document, object, fix and command when given.
nlohmann::ordered_json diagnostic_json(const Diagnostic& d);

// "2 errors, 1 warning"
std::string count_summary(const std::vector<Diagnostic>& diagnostics);

// Prints the problems of manifests; when any is an error, says they have
// "N errors; <nothing_done>" and returns true.
bool report_manifest_problems(Context& ctx, const std::vector<Diagnostic>& problems,
                              const std::string& nothing_done);

// The `axon policy` commands' forms: one line per problem, "error:" /
// "warning:" colored on a terminal, with "; run: axon policy fix -f FILE -w"
// when the fix can repair it; and the problem as JSON fields (with
// fixable and fixCommand).
std::string policy_problem_line(const Diagnostic& p, bool color);
nlohmann::ordered_json policy_problem_json(const Diagnostic& p);

}  // namespace axon::cli
