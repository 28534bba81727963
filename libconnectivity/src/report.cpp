// The report of a connectivity run, as cilium-cli writes it.
#include "axon/connectivity/report.h"

#include <fstream>
#include <iomanip>

namespace axon::connectivity {

void print_report(std::ostream& out, const Report& r) {
  out << "\n📋 Test Report [" << r.ns << "]\n";
  if (r.failed == 0) {
    out << "✅ [" << r.ns << "] All " << r.run << " tests (" << r.actions
        << " actions) successful, " << r.skipped << " tests skipped, in " << std::fixed
        << std::setprecision(1) << r.seconds << " s.\n";
    return;
  }
  out << "❌ " << r.failed << "/" << r.run << " tests failed (" << r.failed_actions << "/"
      << r.actions << " actions), " << r.skipped << " tests skipped:\n";
  for (const auto& t : r.results) {
    if (!t.failed()) continue;
    out << "Test [" << t.name << "]:\n";
    for (const auto& a : t.actions)
      if (!a.passed) out << "  ❌ " << t.name << ":" << a.name << ": " << a.from << " -> " << a.to << "\n";
  }
}

nlohmann::ordered_json report_json(const Report& r) {
  nlohmann::ordered_json j = {{"tests", r.run}, {"failed", r.failed}, {"skipped", r.skipped},
                              {"actions", r.actions}, {"failedActions", r.failed_actions},
                              {"seconds", r.seconds}, {"results", nlohmann::ordered_json::array()}};
  for (const auto& t : r.results) {
    nlohmann::ordered_json o = {{"name", t.name}, {"skipped", t.skipped},
                                {"passed", !t.skipped && !t.failed()}, {"seconds", t.seconds},
                                {"failures", nlohmann::ordered_json::array()}};
    for (const auto& a : t.actions)
      if (!a.passed) o["failures"].push_back(a.name + ": " + a.from + " -> " + a.to + ": " + a.message);
    j["results"].push_back(o);
  }
  return j;
}

Status write_junit(const std::string& file, const Report& report,
                   const std::vector<std::string>& properties) {
  const auto& results = report.results;
  const double total = report.seconds;
  auto esc = [](const std::string& in) {
    std::string o;
    for (char ch : in) {
      switch (ch) {
        case '&': o += "&amp;"; break;
        case '<': o += "&lt;"; break;
        case '>': o += "&gt;"; break;
        case '"': o += "&quot;"; break;
        default: o += ch;
      }
    }
    return o;
  };
  size_t failures = 0, skipped = 0;
  for (const auto& r : results) {
    failures += r.failed() ? 1 : 0;
    skipped += r.skipped ? 1 : 0;
  }
  std::ofstream out(file);
  if (!out) return sys_error("write " + file);
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites tests=\"" << results.size() << "\" failures=\"" << failures << "\" time=\""
      << total << "\">\n"
      << "  <testsuite name=\"connectivity test\" package=\"axon\" tests=\"" << results.size()
      << "\" failures=\"" << failures << "\" skipped=\"" << skipped << "\" time=\"" << total << "\">\n";
  if (!properties.empty()) {
    out << "    <properties>\n";
    for (const auto& kv : properties) {
      auto eq = kv.find('=');
      out << "      <property name=\"" << esc(kv.substr(0, eq)) << "\" value=\""
          << esc(eq == std::string::npos ? "" : kv.substr(eq + 1)) << "\"></property>\n";
    }
    out << "    </properties>\n";
  }
  for (const auto& r : results) {
    out << "    <testcase name=\"" << esc(r.name) << "\" classname=\"connectivity test\" time=\""
        << r.seconds << "\">\n";
    if (r.skipped) out << "      <skipped message=\"" << esc(r.skip_reason) << "\"></skipped>\n";
    for (const auto& a : r.actions) {
      if (a.passed) continue;
      out << "      <failure message=\"" << esc(r.name + ":" + a.name + ": " + a.from + " -> " + a.to)
          << "\" type=\"failure\">" << esc(a.message) << "</failure>\n";
    }
    out << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  out.flush();
  if (!out) return sys_error("write " + file);
  return {};
}

}  // namespace axon::connectivity
