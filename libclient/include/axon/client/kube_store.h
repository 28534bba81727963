// The Kubernetes API as a ClusterStore: HTTPS with libcurl, kubeconfig
// credentials (CA, client certificate and key, or a bearer token), and
// server-side apply (PATCH application/apply-patch+yaml, fieldManager=axon).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "axon/client/cluster_store.h"
#include "axon/client/kubeconfig.h"

namespace axon::client {

inline constexpr const char* kFieldManager = "axon";

struct ApiResponse {
  long code = 0;    // HTTP status
  Json body;        // parsed JSON body (null when not JSON)
  std::string raw;  // the body as received
};

// "422 Invalid: ConfigMap \"x\" is invalid (data.key: Invalid value: ...)"
// from a Kubernetes Status body; the raw text when the body is not one.
std::string describe_api_error(const ApiResponse& response);

class KubeClient {
 public:
  static Result<std::unique_ptr<KubeClient>> create(KubeConfig config);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // One request. A transport failure (TLS, connection) is an Error; any
  // HTTP status is a response.
  Result<ApiResponse> call(const std::string& method, const std::string& path_and_query,
                           const std::string& body = "", const std::string& content_type = "");

  const KubeConfig& config() const { return config_; }
  std::string escape(const std::string& s);

 private:
  explicit KubeClient(KubeConfig config);
  KubeConfig config_;
  void* curl_ = nullptr;  // CURL*
};

class KubeStore : public ClusterStore {
 public:
  explicit KubeStore(std::unique_ptr<KubeClient> client) : client_(std::move(client)) {}

  std::string describe() const override;
  Result<std::optional<Json>> get(const ObjectRef& ref) override;
  Result<std::vector<Json>> list(const std::string& api_version, const std::string& kind,
                                 const std::string& ns, const std::string& label_selector) override;
  Result<ApplyOutcome> apply(const Json& object) override;
  Result<ApplyOutcome> dry_run_apply(const Json& object) override;
  Result<bool> remove(const ObjectRef& ref) override;

 private:
  Result<ApplyOutcome> server_side_apply(const Json& object, bool dry_run);
  Result<ResourceInfo> resource(const std::string& api_version, const std::string& kind) const;
  std::unique_ptr<KubeClient> client_;
};

// Loads the kubeconfig and returns a store for its context.
Result<std::unique_ptr<KubeStore>> connect_kube(const std::string& kubeconfig_paths,
                                                const std::string& context);

}  // namespace axon::client
