#include "axon/client/kube_store.h"

#include <curl/curl.h>

#include <mutex>

#include "axon/base/build_info.h"
#include "axon/base/log.h"

namespace axon::client {
namespace {

void curl_global() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// "https://host:port/x" -> host and port (443 by default).
void split_server(const std::string& server, std::string& scheme, std::string& host,
                  std::string& port) {
  auto p = server.find("://");
  scheme = p == std::string::npos ? "https" : server.substr(0, p);
  std::string rest = p == std::string::npos ? server : server.substr(p + 3);
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  } else {
    host = rest;
    port = scheme == "http" ? "80" : "443";
  }
}

// What a transport failure most likely means, in the operator's terms.
std::string transport_hint(CURLcode rc, const std::string& detail, const KubeConfig& c) {
  auto has = [&](const char* s) { return detail.find(s) != std::string::npos; };
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
    return "nothing answers there: is the cluster up, and is the kubeconfig's server address "
           "right?";
  }
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return "no answer in time: is the address reachable from here?";
  if (rc == CURLE_PEER_FAILED_VERIFICATION || has("certificate verify failed") ||
      has("self-signed") || has("unable to get local issuer")) {
    return "the API server's certificate is not signed by the kubeconfig's certificate-authority "
           "(cluster of context " +
           c.context_name + "), or it is not valid for that address";
  }
  if (has("alert unknown ca") || has("alert bad certificate") || has("certificate required") ||
      has("getpeername") || has("alert handshake failure") || rc == CURLE_SSL_CONNECT_ERROR) {
    if (!c.client_cert_pem.empty()) {
      return "the API server rejected the TLS handshake: the client certificate of user \"" +
             c.user_name + "\" is not signed by a CA the server trusts (or has expired)";
    }
    return "the API server rejected the TLS handshake: it may require a client certificate, and "
           "user \"" +
           c.user_name + "\" has none";
  }
  return "";
}

}  // namespace

std::string describe_api_error(const ApiResponse& r) {
  const Json& b = r.body;
  if (b.is_object() && b.value("kind", "") == "Status") {
    std::string out = std::to_string(r.code);
    std::string reason = b.value("reason", "");
    if (!reason.empty()) out += " " + reason;
    out += ": " + b.value("message", std::string("(no message)"));
    if (b.contains("details") && b["details"].contains("causes") &&
        b["details"]["causes"].is_array()) {
      std::string causes;
      for (const auto& c : b["details"]["causes"]) {
        std::string field = c.value("field", "");
        std::string msg = c.value("message", c.value("reason", ""));
        causes += (causes.empty() ? "" : "; ") + (field.empty() ? msg : field + ": " + msg);
      }
      if (!causes.empty() && out.find(causes) == std::string::npos) out += " (" + causes + ")";
    }
    return out;
  }
  std::string text = r.raw.substr(0, 300);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return "HTTP " + std::to_string(r.code) + (text.empty() ? "" : ": " + text);
}

KubeClient::KubeClient(KubeConfig config) : config_(std::move(config)) {}

KubeClient::~KubeClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<std::unique_ptr<KubeClient>> KubeClient::create(KubeConfig config) {
  curl_global();
  if (!config.server.starts_with("https://") && !config.server.starts_with("http://")) {
    return Error{"API server address \"" + config.server + "\" must start with https://"};
  }
  std::unique_ptr<KubeClient> c(new KubeClient(std::move(config)));
  c->curl_ = curl_easy_init();
  if (c->curl_ == nullptr) return Error{"cannot initialise libcurl"};
  return c;
}

std::string KubeClient::escape(const std::string& s) {
  char* e = curl_easy_escape(static_cast<CURL*>(curl_), s.c_str(), static_cast<int>(s.size()));
  std::string out = e != nullptr ? e : "";
  curl_free(e);
  return out;
}

Result<ApiResponse> KubeClient::call(const std::string& method, const std::string& path,
                                     const std::string& body, const std::string& content_type) {
  CURL* h = static_cast<CURL*>(curl_);
  curl_easy_reset(h);
  std::string scheme, host, port;
  split_server(config_.server, scheme, host, port);
  std::string base = config_.server;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string connect_to;
  curl_slist* connect = nullptr;
  if (!config_.tls_server_name.empty()) {
    // Verify the certificate against tls-server-name but connect to the real host.
    base = scheme + "://" + config_.tls_server_name + ":" + port;
    connect_to = config_.tls_server_name + ":" + port + ":" + host + ":" + port;
    connect = curl_slist_append(connect, connect_to.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect);
  }
  const std::string url = base + path;
  std::string response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_blob ca{const_cast<char*>(config_.ca_pem.data()), config_.ca_pem.size(), CURL_BLOB_COPY};
  if (!config_.ca_pem.empty()) curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_blob cert{const_cast<char*>(config_.client_cert_pem.data()), config_.client_cert_pem.size(),
                 CURL_BLOB_COPY};
  curl_blob key{const_cast<char*>(config_.client_key_pem.data()), config_.client_key_pem.size(),
                CURL_BLOB_COPY};
  if (!config_.client_cert_pem.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (!config_.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, config_.password.c_str());
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  const std::string ua = std::string("User-Agent: axon/") + build_info::version;
  headers = curl_slist_append(headers, ua.c_str());
  std::string ct;
  if (!content_type.empty()) {
    ct = "Content-Type: " + content_type;
    headers = curl_slist_append(headers, ct.c_str());
  }
  std::string auth;
  if (!config_.token.empty()) {
    auth = "Authorization: Bearer " + config_.token;
    headers = curl_slist_append(headers, auth.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

  log::debug("{} {}", method, url);
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  curl_slist_free_all(connect);
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    std::string hint = transport_hint(rc, detail, config_);
    return Error{"cannot reach the API server at " + config_.server + ": " +
                 (hint.empty() ? detail : hint + " (" + detail + ")")};
  }
  ApiResponse r;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.code);
  r.raw = std::move(response);
  r.body = Json::parse(r.raw, nullptr, false);
  if (r.body.is_discarded()) r.body = nullptr;
  log::debug("-> {}", r.code);
  return r;
}

Result<std::unique_ptr<KubeStore>> connect_kube(const std::string& kubeconfig_paths,
                                                const std::string& context) {
  auto config = load_kubeconfig(kubeconfig_paths, context);
  if (!config) return config.error();
  auto client = KubeClient::create(std::move(*config));
  if (!client) return client.error();
  return std::make_unique<KubeStore>(std::move(*client));
}

std::string KubeStore::describe() const {
  return "Kubernetes API " + client_->config().server + " (context " +
         client_->config().context_name + ")";
}

Result<ResourceInfo> KubeStore::resource(const std::string& api_version,
                                         const std::string& kind) const {
  auto r = find_resource(api_version, kind);
  if (!r) return Error{"axon does not know the kind " + kind + " (" + api_version + ")"};
  return *r;
}

Result<std::optional<Json>> KubeStore::get(const ObjectRef& ref) {
  auto r = resource(ref.api_version, ref.kind);
  if (!r) return r.error();
  auto resp = client_->call("GET", api_path(*r, ref.namespace_, ref.name));
  if (!resp) return resp.error();
  if (resp->code == 404) return std::optional<Json>();
  if (resp->code / 100 != 2) return Error{"get " + ref.str() + ": " + describe_api_error(*resp)};
  return std::optional<Json>(resp->body);
}

Result<std::vector<Json>> KubeStore::list(const std::string& api_version, const std::string& kind,
                                          const std::string& ns,
                                          const std::string& label_selector) {
  auto r = resource(api_version, kind);
  if (!r) return r.error();
  std::string path = api_path(*r, ns, "");
  if (!label_selector.empty()) path += "?labelSelector=" + client_->escape(label_selector);
  auto resp = client_->call("GET", path);
  if (!resp) return resp.error();
  // A kind whose CRD is not installed has no objects.
  if (resp->code == 404) return std::vector<Json>();
  if (resp->code / 100 != 2) return Error{"list " + r->plural + ": " + describe_api_error(*resp)};
  std::vector<Json> items;
  if (resp->body.contains("items") && resp->body["items"].is_array()) {
    for (auto& item : resp->body["items"]) {
      // List items may omit apiVersion and kind.
      if (!item.contains("apiVersion")) item["apiVersion"] = api_version;
      if (!item.contains("kind")) item["kind"] = kind;
      items.push_back(item);
    }
  }
  return items;
}

Result<ApplyOutcome> KubeStore::apply(const Json& object) {
  return server_side_apply(object, false);
}

Result<ApplyOutcome> KubeStore::dry_run_apply(const Json& object) {
  return server_side_apply(object, true);
}

Result<ApplyOutcome> KubeStore::server_side_apply(const Json& object, bool dry_run) {
  ObjectRef ref = ObjectRef::of(object);
  auto r = resource(ref.api_version, ref.kind);
  if (!r) return r.error();
  auto live = get(ref);
  if (!live) return live.error();
  if (*live && contains_fields(**live, object)) return ApplyOutcome::unchanged;
  const std::string path = api_path(*r, ref.namespace_, ref.name) +
                           "?fieldManager=" + kFieldManager + "&force=true" +
                           (dry_run ? "&dryRun=All" : "");
  // JSON is YAML: the apply content type takes it as it is.
  auto resp = client_->call("PATCH", path, object.dump(), "application/apply-patch+yaml");
  if (!resp) return resp.error();
  if (resp->code / 100 != 2) {
    return Error{(dry_run ? "dry run of " : "apply ") + ref.str() + ": " +
                 describe_api_error(*resp)};
  }
  return *live ? ApplyOutcome::configured : ApplyOutcome::created;
}

Result<bool> KubeStore::remove(const ObjectRef& ref) {
  auto r = resource(ref.api_version, ref.kind);
  if (!r) return r.error();
  auto resp = client_->call("DELETE", api_path(*r, ref.namespace_, ref.name));
  if (!resp) return resp.error();
  if (resp->code == 404) return false;
  if (resp->code / 100 != 2) return Error{"delete " + ref.str() + ": " + describe_api_error(*resp)};
  return true;
}

}  // namespace axon::client
