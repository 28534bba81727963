// The Kubernetes API as a ClusterStore: HTTPS with libcurl, kubeconfig
// credentials (CA, client certificate and key, or a bearer token), and
// server-side apply (PATCH application/apply-patch+yaml, fieldManager=axon).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

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
  // HTTP status is a response. A 429 Too Many Requests is tried again
  // after the server's Retry-After (at least a growing, jittered backoff),
  // up to 5 times. Safe from several threads (one at a time).
  Result<ApiResponse> call(const std::string& method, const std::string& path_and_query,
                           const std::string& body = "", const std::string& content_type = "");

  // A GET whose body is read as it arrives, a line at a time (a watch), on
  // a connection of its own: `on_line` returns false to end it, and `stop`
  // ends it too (checked about once a second). The response has the status
  // code, and the body when the code is not 200.
  Result<ApiResponse> stream(const std::string& path_and_query,
                             const std::function<bool(std::string_view)>& on_line,
                             const std::atomic<bool>& stop);

  const KubeConfig& config() const { return config_; }
  std::string escape(const std::string& s);

 private:
  struct Request;
  Result<ApiResponse> call_once(const std::string& method, const std::string& path,
                                const std::string& body, const std::string& content_type,
                                long& retry_after);
  void setup(void* handle, const std::string& method, const std::string& path,
             const std::string& content_type, Request& req) const;
  Error transport_error(int curl_code, const char* errbuf) const;
  explicit KubeClient(KubeConfig config);
  // The bearer token: config_.token, or token_file's content read again
  // when a minute has passed.
  std::string bearer_token() const;
  KubeConfig config_;
  mutable std::mutex token_mu_;
  mutable std::string token_;
  mutable std::chrono::steady_clock::time_point token_read_{};
  std::mutex mu_;         // call() and escape() share one handle: one at a time
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
  Result<std::optional<Json>> create(const Json& object) override;  // POST
  Result<std::optional<Json>> replace(const Json& object) override;  // PUT
  Result<std::optional<Json>> replace_status(const Json& object) override;  // PUT .../status
  // DELETE at once (gracePeriodSeconds 0), if the object still has `uid`
  // (empty: any): what a kubelet sends once a deleted pod's containers are
  // gone. False when it was not there (or is another object now).
  Result<bool> remove_now(const ObjectRef& ref, const std::string& uid);
  // A bound service-account token (TokenRequest), as a kubelet asks for a
  // pod's projected token: the status ({token, expirationTimestamp}).
  Result<Json> request_token(const std::string& ns, const std::string& service_account,
                             const std::string& audience, int64_t expiration_seconds,
                             const std::string& pod, const std::string& pod_uid);
  // A kind whose CRD is not installed lists empty, with no version.
  Result<ListResult> list_versioned(const std::string& api_version,
                                    const std::string& kind) override;
  // ?watch=1 with bookmarks, on a connection of its own.
  Result<std::unique_ptr<WatchStream>> watch_objects(const std::string& api_version,
                                                     const std::string& kind,
                                                     const std::string& resource_version) override;

 private:
  Result<ApplyOutcome> server_side_apply(const Json& object, bool dry_run);
  Result<std::optional<Json>> put(const Json& object, const std::string& subresource);
  // "list pods at https://10.0.0.2:6443: 403 Forbidden: ..." (the verb, the server, its answer)
  Error api_error(const std::string& what, const ApiResponse& response) const;
  Result<ResourceInfo> resource(const std::string& api_version, const std::string& kind) const;
  std::unique_ptr<KubeClient> client_;
};

// Loads the kubeconfig and returns a store for its context.
Result<std::unique_ptr<KubeStore>> connect_kube(const std::string& kubeconfig_paths,
                                                const std::string& context);

}  // namespace axon::client
