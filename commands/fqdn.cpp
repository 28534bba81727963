// axon fqdn cache list: the names and addresses each node's DNS proxy saw in
// allowed answers (toFQDNs), until they expire, as cilium-dbg's `fqdn cache
// list`, for every node of the lab at once.
#include <chrono>
#include <regex>

#include "axon/client/status.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/output.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct FqdnParams {
  std::string node;
  std::string matchpattern;
  bool no_headers = false;
};

std::string utc(int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int list(cli::Context& ctx, const FqdnParams& p) {
  std::optional<std::regex> only;
  if (!p.matchpattern.empty()) {
    try {
      only = std::regex(p.matchpattern, std::regex::icase);
    } catch (const std::regex_error&) {
      throw cli::UsageError("--matchpattern \"" + p.matchpattern + "\" is not a regular expression");
    }
  }
  auto agents = cli::lab_agents(ctx, "axon fqdn");
  Result<std::vector<client::NodeFqdnCache>> got =
      agents ? client::agent_fqdn_caches(*agents->store, agents->socket_of, p.node)
             : Result<std::vector<client::NodeFqdnCache>>(agents.error());
  if (got && !p.node.empty() && got->empty()) got = Error{"no node " + p.node + " in lab " + agents->lab};
  if (!got) {
    ctx.err << "Error: " << got.error().str() << "\n";
    return cli::kExitFailed;
  }
  const auto& nodes = *got;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto rows = nlohmann::ordered_json::array();
  for (const auto& n : nodes) {
    if (!n.cache) {
      ctx.err << "warning: the agent of " << n.node << " does not answer\n";
      continue;
    }
    for (const auto& e : n.cache->entries()) {
      if (only && !std::regex_search(e.name(), *only)) continue;
      nlohmann::ordered_json j = {{"node", n.node},
                                  {"fqdn", e.name()},
                                  {"ip", e.ip()},
                                  {"expires", utc(e.expires_unix())},
                                  {"ttlLeft", std::max<int64_t>(0, e.expires_unix() - now)},
                                  {"identity", e.identity()},
                                  {"selectors", nlohmann::ordered_json::array()},
                                  {"source", e.source()}};
      for (const auto& s : e.selectors()) j["selectors"].push_back(s);
      rows.push_back(std::move(j));
    }
  }
  auto format = cli::parse_format(ctx.global.output);
  if (format != cli::Format::table) {
    cli::print_document(ctx.out, format, rows);
    return cli::kExitOk;
  }
  cli::Table t(p.no_headers ? std::vector<std::string>{}
                            : std::vector<std::string>{"NODE", "FQDN", "IP", "EXPIRES", "TTL LEFT",
                                                       "IDENTITY", "SELECTED BY", "SOURCE"});
  for (const auto& r : rows) {
    std::string sel;
    for (const auto& s : r["selectors"]) sel += (sel.empty() ? "" : ", ") + s.get<std::string>();
    const uint32_t id = r["identity"].get<uint32_t>();
    t.row({r["node"].get<std::string>(), r["fqdn"].get<std::string>(), r["ip"].get<std::string>(),
           r["expires"].get<std::string>(), std::to_string(r["ttlLeft"].get<int64_t>()) + "s",
           id == 0 ? "-" : std::to_string(id), sel.empty() ? "-" : sel, r["source"].get<std::string>()});
  }
  t.print(ctx.out);
  return cli::kExitOk;
}

void setup_list(CommandBuilder& b) {
  auto& p = b.params<FqdnParams>();
  b.description(
      "List the names and addresses each node's DNS proxy saw in answers it let through, with "
      "when they expire (the answer's TTL, at least dnsProxy.minTtl), the identity toFQDNs "
      "policies select the address by and which selectors match, as cilium-dbg fqdn cache list "
      "shows them, for all nodes of the lab at once.");
  b.option("--node", p.node, "NODE", "Only this node's agent");
  b.option("-p,--matchpattern", p.matchpattern, "REGEX", "Only names matching this regular expression");
  b.flag("--no-headers", p.no_headers, "Do not print headers");
  b.example("axon fqdn cache list");
  b.example("axon fqdn cache list -p 'example\\.com' -o json");
  b.action([&ctx = b.ctx(), &p] { return list(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(fqdn, {"fqdn", "The DNS names toFQDNs policies learned", "Commands", nullptr})
AXON_REGISTER_COMMAND(fqdn_cache, {"fqdn cache", "The names and addresses the DNS proxies saw",
                                   "Commands", nullptr})
AXON_REGISTER_COMMAND(fqdn_cache_list, {"fqdn cache list", "List the names, addresses and expiry",
                                        "Commands", axon::commands::setup_list})
