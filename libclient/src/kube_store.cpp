#include "axon/client/kube_store.h"

#include <curl/curl.h>

#include <atomic>
#include <condition_variable>
#include <cctype>
#include <deque>
#include <random>
#include <fstream>
#include <sstream>
#include <mutex>
#include <thread>

#include "axon/base/build_info.h"
#include "axon/base/log.h"
#include "axon/base/strings.h"

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

// The items of a List; items may omit apiVersion and kind, which are filled in.
std::vector<Json> items_of(const Json& list, const std::string& api_version,
                           const std::string& kind) {
  std::vector<Json> items;
  for (const auto& item : member(list, "items")) {
    Json o = item;
    if (!o.contains("apiVersion")) o["apiVersion"] = api_version;
    if (!o.contains("kind")) o["kind"] = kind;
    items.push_back(std::move(o));
  }
  return items;
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

std::string KubeClient::bearer_token() const {
  if (config_.token_file.empty()) return config_.token;
  std::lock_guard lock(token_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (token_.empty() || now - token_read_ >= std::chrono::minutes(1)) {
    std::ifstream in(config_.token_file);
    std::stringstream text;
    text << in.rdbuf();
    // A file being rotated may be empty for a moment: keep the last token.
    if (std::string t = trim_space(text.str()); !t.empty()) token_ = t;
    if (token_.empty()) token_ = config_.token;
    token_read_ = now;
  }
  return token_;
}

std::string KubeClient::escape(const std::string& s) {
  std::lock_guard lock(mu_);
  char* e = curl_easy_escape(static_cast<CURL*>(curl_), s.c_str(), static_cast<int>(s.size()));
  std::string out = e != nullptr ? e : "";
  curl_free(e);
  return out;
}

// Everything a request sets on a curl handle, kept alive until it ends.
struct KubeClient::Request {
  std::string url, connect_to, ua, ct, auth;
  curl_slist* connect = nullptr;
  curl_slist* headers = nullptr;
  curl_blob ca{}, cert{}, key{};
  char errbuf[CURL_ERROR_SIZE] = {0};
  ~Request() {
    curl_slist_free_all(headers);
    curl_slist_free_all(connect);
  }
};

void KubeClient::setup(void* handle, const std::string& method, const std::string& path,
                       const std::string& content_type, Request& req) const {
  CURL* h = static_cast<CURL*>(handle);
  std::string scheme, host, port;
  split_server(config_.server, scheme, host, port);
  std::string base = config_.server;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!config_.tls_server_name.empty()) {
    // Verify the certificate against tls-server-name but connect to the real host.
    base = scheme + "://" + config_.tls_server_name + ":" + port;
    req.connect_to = config_.tls_server_name + ":" + port + ":" + host + ":" + port;
    req.connect = curl_slist_append(req.connect, req.connect_to.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, req.connect);
  }
  req.url = base + path;
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, req.errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  req.ca = {const_cast<char*>(config_.ca_pem.data()), config_.ca_pem.size(), CURL_BLOB_COPY};
  if (!config_.ca_pem.empty()) curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &req.ca);
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  req.cert = {const_cast<char*>(config_.client_cert_pem.data()), config_.client_cert_pem.size(),
              CURL_BLOB_COPY};
  req.key = {const_cast<char*>(config_.client_key_pem.data()), config_.client_key_pem.size(),
             CURL_BLOB_COPY};
  if (!config_.client_cert_pem.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &req.cert);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &req.key);
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (!config_.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, config_.password.c_str());
  }
  req.headers = curl_slist_append(req.headers, "Accept: application/json");
  req.ua = std::string("User-Agent: axon/") + build_info::version;
  req.headers = curl_slist_append(req.headers, req.ua.c_str());
  if (!content_type.empty()) {
    req.ct = "Content-Type: " + content_type;
    req.headers = curl_slist_append(req.headers, req.ct.c_str());
  }
  if (const std::string token = bearer_token(); !token.empty()) {
    req.auth = "Authorization: Bearer " + token;
    req.headers = curl_slist_append(req.headers, req.auth.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, req.headers);
}

Error KubeClient::transport_error(int rc, const char* errbuf) const {
  const auto code = static_cast<CURLcode>(rc);
  std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  std::string hint = transport_hint(code, detail, config_);
  return Error{"cannot reach the API server at " + config_.server + ": " +
               (hint.empty() ? detail : hint + " (" + detail + ")")};
}

namespace {

// Retry-After of a response, in seconds (-1 when absent).
size_t retry_after_header(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kName) {
      try {
        *static_cast<long*>(user) = std::stol(trim_space(line.substr(kName.size())));
      } catch (...) {
      }
    }
  }
  return size * n;
}

}  // namespace

Result<ApiResponse> KubeClient::call(const std::string& method, const std::string& path,
                                     const std::string& body, const std::string& content_type) {
  // 429 Too Many Requests (API Priority and Fairness, max-requests-inflight):
  // wait as the server says (Retry-After), at least a growing backoff with
  // jitter, and try again; after the last try the 429 is the answer.
  constexpr int kAttempts = 6;
  static thread_local std::mt19937 rng{std::random_device{}()};
  for (int attempt = 1;; ++attempt) {
    long retry_after = -1;
    auto r = call_once(method, path, body, content_type, retry_after);
    if (!r || r->code != 429 || attempt == kAttempts) return r;
    auto wait = std::chrono::milliseconds(200 << (attempt - 1));
    if (retry_after > 0) wait = std::max<std::chrono::milliseconds>(wait, std::chrono::seconds(retry_after));
    wait = std::min<std::chrono::milliseconds>(wait, std::chrono::seconds(10));
    wait = std::chrono::milliseconds(static_cast<long>(
        static_cast<double>(wait.count()) * std::uniform_real_distribution<double>(0.8, 1.2)(rng)));
    log::warn("{} {}: 429 Too Many Requests from {}; retrying in {} ms ({}/{})", method, path,
              config_.server, wait.count(), attempt, kAttempts - 1);
    std::this_thread::sleep_for(wait);
  }
}

Result<ApiResponse> KubeClient::call_once(const std::string& method, const std::string& path,
                                          const std::string& body, const std::string& content_type,
                                          long& retry_after) {
  std::lock_guard lock(mu_);
  CURL* h = static_cast<CURL*>(curl_);
  curl_easy_reset(h);
  Request req;
  setup(h, method, path, content_type, req);
  std::string response;
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, retry_after_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &retry_after);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  log::debug("{} {}", method, req.url);
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) return transport_error(rc, req.errbuf);
  ApiResponse r;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.code);
  r.raw = std::move(response);
  r.body = Json::parse(r.raw, nullptr, false);
  if (r.body.is_discarded()) r.body = nullptr;
  log::debug("-> {}", r.code);
  return r;
}

namespace {

struct StreamState {
  long code = 0;
  void* handle = nullptr;
  std::string pending;  // a line not complete yet; the whole body when code != 200
  const std::function<bool(std::string_view)>* on_line = nullptr;
  const std::atomic<bool>* stop = nullptr;
  bool aborted = false;
};

size_t stream_write(char* data, size_t size, size_t n, void* user) {
  auto* st = static_cast<StreamState*>(user);
  if (st->code == 0) curl_easy_getinfo(static_cast<CURL*>(st->handle), CURLINFO_RESPONSE_CODE, &st->code);
  st->pending.append(data, size * n);
  if (st->code != 200) return size * n;  // an error Status: kept whole
  size_t start = 0;
  for (size_t nl; (nl = st->pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (!(*st->on_line)(std::string_view(st->pending).substr(start, nl - start))) {
      st->aborted = true;
      return 0;  // ends the transfer
    }
  }
  st->pending.erase(0, start);
  return size * n;
}

int stream_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* st = static_cast<StreamState*>(user);
  if (st->stop != nullptr && st->stop->load()) {
    st->aborted = true;
    return 1;
  }
  return 0;
}

}  // namespace

Result<ApiResponse> KubeClient::stream(const std::string& path,
                                       const std::function<bool(std::string_view)>& on_line,
                                       const std::atomic<bool>& stop) {
  CURL* h = curl_easy_init();
  if (h == nullptr) return Error{"cannot initialise libcurl"};
  struct Cleanup {
    CURL* h;
    ~Cleanup() { curl_easy_cleanup(h); }
  } cleanup{h};
  Request req;
  setup(h, "GET", path, "", req);
  StreamState st;
  st.handle = h;
  st.on_line = &on_line;
  st.stop = &stop;
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, stream_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &st);
  log::debug("GET {} (stream)", req.url);
  CURLcode rc = curl_easy_perform(h);
  ApiResponse r;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.code);
  if (rc != CURLE_OK && !st.aborted) return transport_error(rc, req.errbuf);
  if (r.code != 200) {
    r.raw = std::move(st.pending);
    r.body = Json::parse(r.raw, nullptr, false);
    if (r.body.is_discarded()) r.body = nullptr;
  }
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

Error KubeStore::api_error(const std::string& what, const ApiResponse& response) const {
  return Error{what + " at " + client_->config().server + ": " + describe_api_error(response)};
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
  if (resp->code / 100 != 2) return api_error("get " + ref.str(), *resp);
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
  if (resp->code / 100 != 2) return api_error("list " + r->plural, *resp);
  return items_of(resp->body, api_version, kind);
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
  auto send = [&](bool dry) -> Result<Json> {
    const std::string path = api_path(*r, ref.namespace_, ref.name) + "?fieldManager=" + kFieldManager +
                             "&force=true" + (dry ? "&dryRun=All" : "");
    // JSON is YAML: the apply content type takes it as it is.
    auto resp = client_->call("PATCH", path, object.dump(), "application/apply-patch+yaml");
    if (!resp) return resp.error();
    if (resp->code / 100 != 2) return api_error((dry ? "dry run of " : "apply ") + ref.str(), *resp);
    return resp->body;
  };
  if (!*live) {
    auto done = send(dry_run);
    if (!done) return done.error();
    return ApplyOutcome::created;
  }
  // What the object would be: a field the manifest no longer sets goes
  // (one dropped inside a list item passes any fields check), so a
  // manifest whose fields are all there is tried as a dry run first, and
  // unchanged when that is what is there (nothing written).
  if (contains_fields(**live, object) || dry_run) {
    auto would = send(true);
    if (!would) return would.error();
    auto content = [](Json o) {
      if (o.contains("metadata") && o["metadata"].is_object()) {
        o["metadata"].erase("managedFields");
        o["metadata"].erase("resourceVersion");
        o["metadata"].erase("generation");
      }
      return o;
    };
    if (content(**live) == content(*would)) return ApplyOutcome::unchanged;
    if (dry_run) return ApplyOutcome::configured;
  }
  auto done = send(false);
  if (!done) return done.error();
  return ApplyOutcome::configured;
}

Result<bool> KubeStore::remove(const ObjectRef& ref) {
  auto r = resource(ref.api_version, ref.kind);
  if (!r) return r.error();
  auto resp = client_->call("DELETE", api_path(*r, ref.namespace_, ref.name));
  if (!resp) return resp.error();
  if (resp->code == 404) return false;
  if (resp->code / 100 != 2) return api_error("delete " + ref.str(), *resp);
  return true;
}

Result<bool> KubeStore::remove_now(const ObjectRef& ref, const std::string& uid) {
  auto r = resource(ref.api_version, ref.kind);
  if (!r) return r.error();
  Json options = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"gracePeriodSeconds", 0}};
  if (!uid.empty()) options["preconditions"] = {{"uid", uid}};
  auto resp = client_->call("DELETE", api_path(*r, ref.namespace_, ref.name), options.dump(),
                            "application/json");
  if (!resp) return resp.error();
  if (resp->code == 404 || resp->code == 409) return false;  // gone, or another object now
  if (resp->code / 100 != 2) return api_error("delete " + ref.str(), *resp);
  return true;
}

Result<Json> KubeStore::request_token(const std::string& ns, const std::string& service_account,
                                      const std::string& audience, int64_t expiration_seconds,
                                      const std::string& pod, const std::string& pod_uid) {
  Json spec = {{"expirationSeconds", expiration_seconds},
               {"boundObjectRef", {{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", pod}, {"uid", pod_uid}}}};
  if (!audience.empty()) spec["audiences"] = Json::array({audience});
  Json body = {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}, {"spec", spec}};
  auto resp = client_->call("POST",
                            "/api/v1/namespaces/" + client_->escape(ns) + "/serviceaccounts/" +
                                client_->escape(service_account) + "/token",
                            body.dump(), "application/json");
  if (!resp) return resp.error();
  if (resp->code / 100 != 2)
    return api_error("create token of serviceaccount " + ns + "/" + service_account, *resp);
  return resp->body.value("status", Json::object());
}

Result<std::optional<Json>> KubeStore::create(const Json& object) {
  ObjectRef ref = ObjectRef::of(object);
  auto r = resource(ref.api_version, ref.kind);
  if (!r) return r.error();
  const std::string path =
      api_path(*r, ref.namespace_, "") + "?fieldManager=" + kFieldManager;
  auto resp = client_->call("POST", path, object.dump(), "application/json");
  if (!resp) return resp.error();
  if (resp->code == 409) return std::optional<Json>();  // AlreadyExists
  if (resp->code / 100 != 2) return api_error("create " + ref.str(), *resp);
  return std::optional<Json>(resp->body);
}

Result<std::optional<Json>> KubeStore::replace(const Json& object) { return put(object, ""); }

Result<std::optional<Json>> KubeStore::replace_status(const Json& object) {
  return put(object, "/status");
}

Result<std::optional<Json>> KubeStore::put(const Json& object, const std::string& subresource) {
  ObjectRef ref = ObjectRef::of(object);
  const std::string what = "replace " + ref.str() + (subresource.empty() ? "" : " status");
  if (member(object, "metadata").value("resourceVersion", "").empty())
    return Error{what + ": metadata.resourceVersion is required (the version read)"};
  auto r = resource(ref.api_version, ref.kind);
  if (!r) return r.error();
  const std::string path = api_path(*r, ref.namespace_, ref.name) + subresource +
                           "?fieldManager=" + kFieldManager;
  auto resp = client_->call("PUT", path, object.dump(), "application/json");
  if (!resp) return resp.error();
  if (resp->code == 409 || resp->code == 404) return std::optional<Json>();  // Conflict, gone
  if (resp->code / 100 != 2) return api_error(what, *resp);
  return std::optional<Json>(resp->body);
}

Result<ListResult> KubeStore::list_versioned(const std::string& api_version,
                                             const std::string& kind) {
  auto r = resource(api_version, kind);
  if (!r) return r.error();
  auto resp = client_->call("GET", api_path(*r, "", ""));
  if (!resp) return resp.error();
  ListResult out;
  if (resp->code == 404) return out;  // the kind's CRD is not installed
  if (resp->code / 100 != 2) return api_error("list " + r->plural, *resp);
  out.resource_version = member(resp->body, "metadata").value("resourceVersion", "");
  out.items = items_of(resp->body, api_version, kind);
  return out;
}

namespace {

// A watch of the Kubernetes API: GET ...?watch=1 on a thread of its own,
// each line an event, handed to next() through a queue. The server ends
// the stream after timeoutSeconds (closed: watch again from the last
// version); ERROR 410 Gone means the version is too old (list again).
class KubeWatchStream final : public WatchStream {
 public:
  KubeWatchStream(std::unique_ptr<KubeClient> client, std::string path, std::string api_version,
                  std::string kind)
      : client_(std::move(client)), api_version_(std::move(api_version)), kind_(std::move(kind)) {
    thread_ = std::thread([this, path = std::move(path)] { run(path); });
  }
  ~KubeWatchStream() override {
    stop_.store(true);
    thread_.join();
  }

  Result<WatchBatch> next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !events_.empty() || ended_; });
    WatchBatch out;
    out.events.assign(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
    events_.clear();
    if (events_.empty() && ended_ && out.events.empty()) {
      if (error_) return *error_;
      out.gone = gone_;
      out.closed = !gone_;
    }
    return out;
  }

 private:
  void run(const std::string& path) {
    auto resp = client_->stream(
        path, [this](std::string_view line) { return on_line(line); }, stop_);
    std::lock_guard lock(mu_);
    if (!resp) {
      error_ = resp.error();
    } else if (resp->code == 410) {
      gone_ = true;
    } else if (resp->code != 200) {
      error_ = Error{"watch " + kind_ + " at " + client_->config().server + ": " + describe_api_error(*resp)};
    }
    ended_ = true;
    cv_.notify_all();
  }

  bool on_line(std::string_view line) {
    if (line.empty()) return true;
    Json e = Json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.is_object()) return true;
    const std::string type = e.value("type", "");
    std::lock_guard lock(mu_);
    if (type == "ERROR") {
      const Json& st = member(e, "object");
      if (st.value("code", 0) == 410) {
        gone_ = true;
      } else {
        error_ = Error{"watch " + kind_ + ": " + st.value("message", std::string("error event"))};
      }
      return false;
    }
    WatchEvent ev;
    ev.type = type == "ADDED"      ? WatchEvent::Type::added
              : type == "MODIFIED" ? WatchEvent::Type::modified
              : type == "DELETED"  ? WatchEvent::Type::deleted
                                   : WatchEvent::Type::bookmark;
    ev.object = std::move(e["object"]);
    if (!ev.object.contains("apiVersion")) ev.object["apiVersion"] = api_version_;
    if (!ev.object.contains("kind")) ev.object["kind"] = kind_;
    events_.push_back(std::move(ev));
    cv_.notify_all();
    return true;
  }

  std::unique_ptr<KubeClient> client_;
  std::string api_version_, kind_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEvent> events_;
  bool ended_ = false, gone_ = false;
  std::optional<Error> error_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<WatchStream>> KubeStore::watch_objects(const std::string& api_version,
                                                              const std::string& kind,
                                                              const std::string& resource_version) {
  auto r = resource(api_version, kind);
  if (!r) return r.error();
  auto client = KubeClient::create(client_->config());
  if (!client) return client.error();
  // The server ends a watch after timeoutSeconds; a little under five
  // minutes, as client-go's reflector asks (with jitter there).
  std::string path = api_path(*r, "", "") + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=290";
  if (!resource_version.empty()) path += "&resourceVersion=" + client_->escape(resource_version);
  return std::unique_ptr<WatchStream>(
      std::make_unique<KubeWatchStream>(std::move(*client), path, api_version, kind));
}

}  // namespace axon::client
