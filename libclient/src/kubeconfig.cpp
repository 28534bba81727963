#include "axon/client/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "axon/base/strings.h"
#include "axon/policy/yaml.h"

namespace axon::client {
namespace fs = std::filesystem;

namespace {

struct Entry {
  YAML::Node node;
  fs::path dir;  // directory of the file that defined it
};

Result<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return sys_error("cannot read " + p.string());
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string str_field(const YAML::Node& n, const char* key) {
  return n && n[key] && n[key].IsScalar() ? n[key].Scalar() : std::string();
}

// The PEM of `<key>-data` (base64) or of the file `<key>` (relative to dir).
Result<std::string> pem(const YAML::Node& n, const std::string& key, const fs::path& dir,
                        const std::string& what) {
  std::string data = str_field(n, (key + "-data").c_str());
  if (!data.empty()) {
    auto decoded = base64_decode(data);
    if (!decoded) return Error{what + ": " + key + "-data: " + decoded.error().message};
    return decoded;
  }
  std::string file = str_field(n, key.c_str());
  if (file.empty()) return std::string();
  fs::path p = fs::path(file).is_absolute() ? fs::path(file) : dir / file;
  auto content = read_file(p);
  if (!content) return Error{what + ": " + key + ": " + content.error().str()};
  return content;
}

}  // namespace

Result<KubeConfig> load_kubeconfig(const std::string& paths, const std::string& context) {
  std::vector<std::string> files;
  if (paths.empty()) {
    const char* home = std::getenv("HOME");
    files.push_back(std::string(home != nullptr ? home : "") + "/.kube/config");
  } else {
    std::istringstream in(paths);
    for (std::string f; std::getline(in, f, ':');) {
      if (!f.empty()) files.push_back(f);
    }
  }
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current;
  std::vector<std::string> read;
  for (const auto& f : files) {
    auto text = read_file(f);
    if (!text) {
      if (files.size() > 1 && text.error().sys_errno == ENOENT) continue;  // as kubectl
      return Error{"kubeconfig " + f + ": " + text.error().str()};
    }
    YAML::Node root;
    try {
      root = policy::load_yaml(*text);
    } catch (const YAML::Exception& e) {
      return Error{"kubeconfig " + f + ":" + std::to_string(e.mark.line + 1) +
                   ": invalid YAML: " + e.msg};
    }
    read.push_back(f);
    fs::path dir = fs::absolute(fs::path(f)).parent_path();
    auto collect = [&](const char* list, const char* inner, std::map<std::string, Entry>& into) {
      if (!root[list] || !root[list].IsSequence()) return;
      for (const auto& item : root[list]) {
        std::string name = str_field(item, "name");
        if (!name.empty() && !into.count(name)) into[name] = Entry{item[inner], dir};
      }
    };
    collect("clusters", "cluster", clusters);
    collect("users", "user", users);
    collect("contexts", "context", contexts);
    if (current.empty()) current = str_field(root, "current-context");
  }
  if (read.empty()) return Error{"no kubeconfig found in " + join(files, ":")};
  KubeConfig kc;
  kc.source = join(read, ":");
  kc.context_name = context.empty() ? current : context;
  if (kc.context_name.empty()) {
    return Error{"kubeconfig " + kc.source + " has no current-context; pick one with --context"};
  }
  auto ctx = contexts.find(kc.context_name);
  if (ctx == contexts.end()) {
    std::vector<std::string> names;
    for (const auto& [n, _] : contexts) names.push_back(n);
    return Error{"context \"" + kc.context_name + "\" not found in " + kc.source +
                 (names.empty() ? "" : "; contexts: " + join(names, ", "))};
  }
  const std::string cluster_name = str_field(ctx->second.node, "cluster");
  const std::string user_name = str_field(ctx->second.node, "user");
  kc.user_name = user_name;
  kc.namespace_ = str_field(ctx->second.node, "namespace");
  auto cl = clusters.find(cluster_name);
  if (cl == clusters.end()) {
    return Error{"context \"" + kc.context_name + "\" names cluster \"" + cluster_name +
                 "\", which " + kc.source + " does not define"};
  }
  const std::string cwhat = "cluster \"" + cluster_name + "\"";
  kc.server = str_field(cl->second.node, "server");
  if (kc.server.empty()) return Error{cwhat + " has no server"};
  auto ca = pem(cl->second.node, "certificate-authority", cl->second.dir, cwhat);
  if (!ca) return ca.error();
  kc.ca_pem = *ca;
  kc.insecure_skip_tls_verify = str_field(cl->second.node, "insecure-skip-tls-verify") == "true";
  kc.tls_server_name = str_field(cl->second.node, "tls-server-name");
  if (!user_name.empty()) {
    auto us = users.find(user_name);
    if (us == users.end()) {
      return Error{"context \"" + kc.context_name + "\" names user \"" + user_name + "\", which " +
                   kc.source + " does not define"};
    }
    const YAML::Node& u = us->second.node;
    const std::string uwhat = "user \"" + user_name + "\"";
    if (u && (u["exec"] || u["auth-provider"])) {
      return Error{uwhat + " authenticates with " +
                   std::string(u["exec"] ? "an exec plugin" : "an auth-provider") +
                   ", which axon does not support yet; use a client certificate or a token"};
    }
    auto cert = pem(u, "client-certificate", us->second.dir, uwhat);
    if (!cert) return cert.error();
    auto key = pem(u, "client-key", us->second.dir, uwhat);
    if (!key) return key.error();
    kc.client_cert_pem = *cert;
    kc.client_key_pem = *key;
    if (kc.client_cert_pem.empty() != kc.client_key_pem.empty()) {
      return Error{uwhat +
                   " has a client certificate without a key, or a key without a certificate"};
    }
    kc.token = str_field(u, "token");
    std::string token_file = str_field(u, "tokenFile");
    if (kc.token.empty() && !token_file.empty()) {
      fs::path p =
          fs::path(token_file).is_absolute() ? fs::path(token_file) : us->second.dir / token_file;
      auto t = read_file(p);
      if (!t) return Error{uwhat + ": tokenFile: " + t.error().str()};
      kc.token = trim_space(*t);
      kc.token_file = p.string();
    }
    kc.username = str_field(u, "username");
    kc.password = str_field(u, "password");
  }
  return kc;
}

Result<KubeConfig> in_cluster_config(const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    return Error{"not in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                 "are not set (give --kubeconfig, KUBECONFIG, or AXON_STORE for the lab's etcd)"};
  }
  KubeConfig kc;
  kc.source = sa_dir;
  kc.context_name = "in-cluster";
  kc.user_name = "service account";
  const std::string h = host;
  kc.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  const fs::path dir(sa_dir);
  auto ca = read_file(dir / "ca.crt");
  if (!ca) return Error{"in-cluster configuration: " + ca.error().str()};
  kc.ca_pem = *ca;
  auto token = read_file(dir / "token");
  if (!token) return Error{"in-cluster configuration: " + token.error().str()};
  kc.token = trim_space(*token);
  kc.token_file = (dir / "token").string();
  if (auto ns = read_file(dir / "namespace")) kc.namespace_ = trim_space(*ns);
  return kc;
}

}  // namespace axon::client
