// Reading a kubeconfig the way kubectl does: KUBECONFIG may list several
// files (the first to define a name wins), a context picks a cluster and a
// user, *-data fields are base64 PEM, and file paths are relative to the
// kubeconfig that names them.
#pragma once

#include <string>

#include "axon/base/base64.h"
#include "axon/base/result.h"

namespace axon::client {

struct KubeConfig {
  std::string source;        // the file(s) read
  std::string context_name;  // the context used
  std::string user_name;     // the context's user
  std::string server;        // "https://127.0.0.1:6443"
  std::string ca_pem;        // empty: system trust store
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string client_cert_pem, client_key_pem;
  std::string token;       // bearer token
  std::string token_file;  // read again every minute when set (a bound
                           // service-account token is rotated by the kubelet)
  std::string username, password;
  std::string namespace_;  // the context's default namespace ("" = default)
};

// `paths`: one file or a ':'-separated list (as KUBECONFIG); empty means
// ~/.kube/config. `context`: empty means current-context.
Result<KubeConfig> load_kubeconfig(const std::string& paths, const std::string& context);

// Where a pod's service-account credentials are mounted.
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// The in-cluster configuration, as client-go's rest.InClusterConfig: the
// server from KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (the
// seed's KubePrism: localhost:7445), the CA (ca.crt), the token (token,
// re-read as it rotates) and the namespace from `sa_dir`. An error says
// what is missing.
Result<KubeConfig> in_cluster_config(const std::string& sa_dir = kServiceAccountDir);

using axon::base64_decode;  // axon/base/base64.h

}  // namespace axon::client
