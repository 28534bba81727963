#include "commands/policy/common.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "axon/policy/decode.h"
#include "axon/policy/identity.h"
#include "cli/output.h"

namespace axon::commands::policy_cli {
namespace {

std::string read_one(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw cli::UsageError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw cli::UsageError("cannot read " + path + ": " + std::strerror(errno));
  return ss.str();
}

}  // namespace

std::vector<InputFile> read_inputs(const std::vector<std::string>& paths) {
  std::vector<InputFile> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> files;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
          files.push_back(e.path().string());
        }
      }
      if (ec) throw cli::UsageError("cannot list " + p + ": " + ec.message());
      std::sort(files.begin(), files.end());
      if (files.empty()) throw cli::UsageError(p + ": no *.yaml, *.yml or *.json files in it");
      for (auto& f : files) out.push_back(InputFile{f, read_one(f)});
      continue;
    }
    out.push_back(InputFile{p, read_one(p)});
  }
  return out;
}

std::string fix_command(const std::string& file) { return "axon policy fix -f " + file + " -w"; }

std::string problem_line(const policy::Problem& p, bool color) {
  std::string line = policy::format(p);
  if (p.fixable && !p.file.empty()) line += "; run: " + fix_command(p.file);
  if (color) {
    cli::Style s(true);
    std::string sev(policy::severity_name(p.severity));
    std::string colored = p.severity == policy::Severity::error ? s.red(sev) : s.yellow(sev);
    line = colored + line.substr(sev.size());
  }
  return line;
}

nlohmann::ordered_json problem_json(const policy::Problem& p) {
  nlohmann::ordered_json j = {
      {"severity", std::string(policy::severity_name(p.severity))},
      {"file", p.file},
      {"document", p.document},
      {"line", p.line},
      {"object", p.object},
      {"path", p.path},
      {"message", p.message},
      {"fix", p.fix},
      {"fixable", p.fixable},
  };
  if (p.fixable && !p.file.empty()) j["fixCommand"] = fix_command(p.file);
  return j;
}

void write_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".axon-tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw cli::UsageError("cannot write " + tmp + ": " + std::strerror(errno));
    out << text;
    out.flush();
    if (!out) throw cli::UsageError("cannot write " + tmp + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) (void)::chmod(tmp.c_str(), st.st_mode & 07777);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    throw cli::UsageError("cannot replace " + path + ": " + std::strerror(e));
  }
}

Result<std::vector<StoredPolicy>> store_policies(client::ClusterStore& store,
                                                 const std::string& ns) {
  std::vector<StoredPolicy> out;
  for (auto kind : {policy::PolicyKind::cilium_network_policy,
                    policy::PolicyKind::cilium_clusterwide_network_policy,
                    policy::PolicyKind::network_policy}) {
    bool namespaced = kind != policy::PolicyKind::cilium_clusterwide_network_policy;
    auto objects = store.list(std::string(policy::api_version(kind)),
                              std::string(policy::kind_name(kind)), namespaced ? ns : "", "");
    if (!objects) return objects.error();
    for (const auto& o : *objects) {
      StoredPolicy sp;
      sp.kind = kind;
      if (o.contains("metadata") && o["metadata"].is_object()) {
        sp.ns = o["metadata"].value("namespace", "");
        sp.name = o["metadata"].value("name", "");
      }
      // Objects of the store are named by kind and name, not by file.
      auto doc = policy::document_from_json(o, "", 0);
      if (!doc) return doc.error();
      auto d = policy::decode_policy(*doc);
      sp.problems = std::move(d.problems);
      sp.policy = std::move(d.policy);
      out.push_back(std::move(sp));
    }
  }
  return out;
}

Result<StoredPod> store_pod(client::ClusterStore& store, const std::string& ns_pod) {
  auto slash = ns_pod.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == ns_pod.size()) {
    throw cli::UsageError("\"" + ns_pod + "\": name the pod as NAMESPACE/POD");
  }
  std::string ns = ns_pod.substr(0, slash), name = ns_pod.substr(slash + 1);
  auto pod = store.get(client::ObjectRef{"v1", "Pod", ns, name});
  if (!pod) return pod.error();
  if (!*pod) return Error{"no pod " + ns_pod + " in " + store.describe()};
  auto nso = store.get(client::ObjectRef{"v1", "Namespace", "", ns});
  if (!nso) return nso.error();
  auto strings = [](const client::Json& j) {
    std::map<std::string, std::string> m;
    if (!j.is_object()) return m;
    for (const auto& [k, v] : j.items()) {
      if (v.is_string()) m[k] = v.get<std::string>();
    }
    return m;
  };
  policy::PodLabels pl;
  pl.ns = ns;
  const client::Json& meta = (**pod)["metadata"];
  if (meta.contains("labels")) pl.labels = strings(meta["labels"]);
  if (*nso && (**nso)["metadata"].contains("labels")) {
    pl.namespace_labels = strings((**nso)["metadata"]["labels"]);
  }
  StoredPod out;
  const client::Json spec = (**pod).value("spec", client::Json::object());
  pl.service_account = spec.value("serviceAccountName", "default");
  out.labels = policy::identity_labels(pl);
  for (const auto& c : spec.value("containers", client::Json::array())) {
    for (const auto& port : c.value("ports", client::Json::array())) {
      std::string pname = port.value("name", "");
      if (pname.empty() || !port.contains("containerPort") || !port["containerPort"].is_number()) {
        continue;
      }
      auto proto = policy::parse_protocol(port.value("protocol", "TCP"));
      out.named_ports[pname] = policy::NamedPort{proto.value_or(policy::Protocol::tcp),
                                                 port["containerPort"].get<uint16_t>()};
    }
  }
  return out;
}

}  // namespace axon::commands::policy_cli
