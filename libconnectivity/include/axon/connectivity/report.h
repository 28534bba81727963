// The report of a connectivity run: cilium-cli's text summary, a JSON
// document (-o json|yaml) and a JUnit XML file for CI.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/connectivity/suite.h"

namespace axon::connectivity {

// "📋 Test Report [ns]" and either "✅ All N tests ..." or the failed actions.
void print_report(std::ostream& out, const Report& r);

nlohmann::ordered_json report_json(const Report& r);

// One testsuite with a testcase per test; `properties` are "KEY=VALUE".
Status write_junit(const std::string& file, const Report& r,
                   const std::vector<std::string>& properties);

}  // namespace axon::connectivity
