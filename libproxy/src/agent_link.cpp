// AgentLink: one thread polling the agent's unix socket (and an eventfd that
// wakes it when there is something to send); answers, revisions and
// timeouts are handled there, callbacks run outside the lock.
#include "axon/proxy/agent_link.h"
#include "axon/proxy/tcp_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "axon/base/log.h"

namespace axon::proxy {

using nlohmann::json;

namespace wire {

json to_json(const ConnectionInfo& c) {
  return {{"src_ip", c.src_ip},
          {"src_port", c.src_port},
          {"dst_ip", c.dst_ip},
          {"dst_port", c.dst_port},
          {"listener_port", c.listener_port}};
}

ConnectionInfo connection_from_json(const json& j) {
  ConnectionInfo c;
  c.src_ip = j.value("src_ip", "");
  c.src_port = j.value("src_port", uint16_t(0));
  c.dst_ip = j.value("dst_ip", "");
  c.dst_port = j.value("dst_port", uint16_t(0));
  c.listener_port = j.value("listener_port", uint16_t(0));
  return c;
}

namespace {

json rules_json(const std::shared_ptr<const HttpRuleSet>& set) {
  if (!set) return nullptr;
  json http = json::array();
  for (const auto& r : set->source()) {
    json m = json::array();
    for (const auto& h : r.header_matches)
      m.push_back({{"name", h.name},
                   {"value", h.value},
                   {"secret_namespace", h.secret_namespace},
                   {"secret_name", h.secret_name},
                   {"mismatch", h.mismatch}});
    http.push_back({{"method", r.method},
                    {"path", r.path},
                    {"host", r.host},
                    {"headers", r.headers},
                    {"header_matches", m}});
  }
  return {{"allow_all", set->allow_all()}, {"http", http}};
}

Result<std::shared_ptr<const HttpRuleSet>> rules_from_json(const json& j) {
  if (j.is_null()) return std::shared_ptr<const HttpRuleSet>();
  std::vector<policy::HttpRule> rules;
  for (const auto& r : j.value("http", json::array())) {
    policy::HttpRule h;
    h.method = r.value("method", "");
    h.path = r.value("path", "");
    h.host = r.value("host", "");
    h.headers = r.value("headers", std::vector<std::string>{});
    for (const auto& m : r.value("header_matches", json::array()))
      h.header_matches.push_back({m.value("name", ""), m.value("value", ""), m.value("secret_namespace", ""),
                                  m.value("secret_name", ""), m.value("mismatch", "")});
    rules.push_back(std::move(h));
  }
  return HttpRuleSet::compile(rules, j.value("allow_all", false));
}

}  // namespace

json to_json(const Decision& d) {
  return {{"rules", rules_json(d.rules)},
          {"peer_rules", rules_json(d.peer_rules)},
          {"reason", d.reason},
          {"src_identity", d.src_identity},
          {"dst_identity", d.dst_identity},
          {"ingress", d.ingress},
          {"keep_source", d.keep_source},
          {"upstream_ip", d.upstream_ip},
          {"upstream_port", d.upstream_port}};
}

Result<Decision> decision_from_json(const json& j) {
  Decision d;
  auto rules = rules_from_json(j.value("rules", json()));
  if (!rules) return rules.error();
  auto peer = rules_from_json(j.value("peer_rules", json()));
  if (!peer) return peer.error();
  d.rules = *rules;
  d.peer_rules = *peer;
  d.reason = j.value("reason", "");
  d.src_identity = j.value("src_identity", 0u);
  d.dst_identity = j.value("dst_identity", 0u);
  d.ingress = j.value("ingress", true);
  d.keep_source = j.value("keep_source", false);
  d.upstream_ip = j.value("upstream_ip", "");
  d.upstream_port = j.value("upstream_port", uint16_t(0));
  return d;
}

namespace {

// A JSON string, written by hand (a record per request: no DOM). Bytes
// above 0x7f are taken as Latin-1 (a header need not be UTF-8; the JSON
// must be).
void quote(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

}  // namespace

std::string record_line(const RequestRecord& r) {
  std::string out;
  out.reserve(256 + r.url.size() + 64 * r.headers.size());
  const auto& c = r.connection;
  out += R"({"record":{"connection":{"src_ip":)";
  quote(out, c.src_ip);
  out += R"(,"src_port":)" + std::to_string(c.src_port) + R"(,"dst_ip":)";
  quote(out, c.dst_ip);
  out += R"(,"dst_port":)" + std::to_string(c.dst_port) + R"(,"listener_port":)" +
         std::to_string(c.listener_port) + R"(},"src_identity":)" + std::to_string(r.src_identity) +
         R"(,"dst_identity":)" + std::to_string(r.dst_identity) + R"(,"ingress":)" +
         (r.ingress ? "true" : "false") + R"(,"method":)";
  quote(out, r.method);
  out += R"(,"url":)";
  quote(out, r.url);
  out += R"(,"protocol":)";
  quote(out, r.protocol);
  out += R"(,"headers":[)";
  for (size_t i = 0; i < r.headers.size(); ++i) {
    if (i > 0) out += ',';
    out += '[';
    quote(out, r.headers[i].first);
    out += ',';
    quote(out, r.headers[i].second);
    out += ']';
  }
  out += R"(],"code":)" + std::to_string(r.code) + R"(,"forwarded":)" + (r.forwarded ? "true" : "false") +
         R"(,"latency_ns":)" + std::to_string(r.latency.count()) + "}}\n";
  return out;
}

namespace {

// record_line's reader (one per request on the agent's side): one pass
// over the line, values straight into the record, keys it does not know
// skipped (nlohmann's SAX parser took about 7 µs of the agent's thread per
// record; this a fraction of it). False: not JSON, or not a record's shape.
class RecordParser {
 public:
  RecordParser(std::string_view s, RequestRecord& r) : s_(s), r_(r) {}
  bool parse() {
    bool seen = false;
    if (!object([&](std::string_view k) {
          if (k != "record") return skip(0);
          seen = true;
          return object([&](std::string_view f) { return field(f); });
        }))
      return false;
    ws();
    return seen && i_ == s_.size();
  }

 private:
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    ws();
    return i_ < s_.size() && s_[i_] == c;
  }
  template <class OnKey>
  bool object(OnKey on_key) {
    if (!eat('{')) return false;
    if (eat('}')) return true;
    std::string key;
    do {
      if (!string(key) || !eat(':') || !on_key(std::string_view(key))) return false;
    } while (eat(','));
    return eat('}');
  }
  template <class OnItem>
  bool array(OnItem on_item) {
    if (!eat('[')) return false;
    if (eat(']')) return true;
    do {
      if (!on_item()) return false;
    } while (eat(','));
    return eat(']');
  }
  static void utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | cp >> 6);
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | cp >> 12);
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | cp >> 18);
      out += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  bool hex4(uint32_t& v) {
    if (i_ + 4 > s_.size()) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }
  bool string(std::string& out) {
    out.clear();
    if (!eat('"')) return false;
    for (;;) {
      const size_t run = i_;
      while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\\' && static_cast<unsigned char>(s_[i_]) >= 0x20) ++i_;
      out.append(s_.data() + run, i_ - run);
      if (i_ >= s_.size() || static_cast<unsigned char>(s_[i_]) < 0x20) return false;
      if (s_[i_++] == '"') return true;
      if (i_ >= s_.size()) return false;
      switch (const char e = s_[i_++]) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0, low = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {  // a surrogate pair
            if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') return false;
            i_ += 2;
            if (!hex4(low) || low < 0xdc00 || low >= 0xe000) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return false;
          }
          utf8(out, cp);
          break;
        }
        default: return false;
      }
    }
  }
  bool integer(int64_t& v) {
    ws();
    const bool neg = i_ < s_.size() && s_[i_] == '-';
    if (neg) ++i_;
    const size_t start = i_;
    uint64_t u = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') u = u * 10 + static_cast<uint64_t>(s_[i_++] - '0');
    if (i_ == start || i_ - start > 19) return false;
    v = neg ? -static_cast<int64_t>(u) : static_cast<int64_t>(u);
    return true;
  }
  bool boolean(bool& v) {
    ws();
    if (s_.substr(i_, 4) == "true") {
      i_ += 4;
      v = true;
      return true;
    }
    if (s_.substr(i_, 5) == "false") {
      i_ += 5;
      v = false;
      return true;
    }
    return false;
  }
  // Any value, read and dropped (nested at most 8 deep).
  bool skip(int depth) {
    if (depth > 8) return false;
    ws();
    if (i_ >= s_.size()) return false;
    std::string ignored;
    switch (s_[i_]) {
      case '"': return string(ignored);
      case '{': return object([&](std::string_view) { return skip(depth + 1); });
      case '[': return array([&] { return skip(depth + 1); });
      case 't': case 'f': {
        bool b;
        return boolean(b);
      }
      case 'n':
        if (s_.substr(i_, 4) != "null") return false;
        i_ += 4;
        return true;
      default: {
        const size_t start = i_;
        while (i_ < s_.size() && std::strchr("+-.eE0123456789", s_[i_]) != nullptr && s_[i_] != '\0') ++i_;
        return i_ > start;
      }
    }
  }
  template <class T>
  bool number_into(T& out) {
    int64_t v = 0;
    if (!integer(v)) return skip(0);  // another kind of value: not ours
    out = static_cast<T>(v);
    return true;
  }
  bool string_into(std::string& out) { return peek('"') ? string(out) : skip(0); }
  bool field(std::string_view f) {
    if (f == "connection") {
      if (!peek('{')) return skip(0);
      auto& c = r_.connection;
      return object([&](std::string_view k) {
        if (k == "src_ip") return string_into(c.src_ip);
        if (k == "dst_ip") return string_into(c.dst_ip);
        if (k == "src_port") return number_into(c.src_port);
        if (k == "dst_port") return number_into(c.dst_port);
        if (k == "listener_port") return number_into(c.listener_port);
        return skip(1);
      });
    }
    if (f == "headers") {
      if (!peek('[')) return skip(0);
      return array([&] {
        if (!peek('[')) return skip(1);
        std::pair<std::string, std::string> h;
        int n = 0;
        if (!array([&] { return ++n == 1 ? string_into(h.first) : n == 2 ? string_into(h.second) : skip(2); }))
          return false;
        if (n == 2) r_.headers.push_back(std::move(h));
        return true;
      });
    }
    if (f == "method") return string_into(r_.method);
    if (f == "url") return string_into(r_.url);
    if (f == "protocol") return string_into(r_.protocol);
    if (f == "src_identity") return number_into(r_.src_identity);
    if (f == "dst_identity") return number_into(r_.dst_identity);
    if (f == "code") return number_into(r_.code);
    if (f == "latency_ns") {
      int64_t ns = 0;
      if (!integer(ns)) return skip(0);
      r_.latency = std::chrono::nanoseconds(ns);
      return true;
    }
    if (f == "ingress" || f == "forwarded") {
      if (!peek('t') && !peek('f')) return skip(0);
      return boolean(f == "ingress" ? r_.ingress : r_.forwarded);
    }
    return skip(0);
  }

  std::string_view s_;
  size_t i_ = 0;
  RequestRecord& r_;
};

}  // namespace

std::optional<RequestRecord> read_record_line(std::string_view line) {
  RequestRecord r;
  if (!RecordParser(line, r).parse()) return std::nullopt;
  return r;
}

}  // namespace wire

namespace {

// What an answer holds for: the proxy port, both addresses and the
// destination port (not the source port: a client's connections share it).
struct Key {
  uint16_t listener_port = 0;
  std::string src_ip, dst_ip;
  uint16_t dst_port = 0;
  bool operator==(const Key&) const = default;
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    size_t h = std::hash<std::string>{}(k.src_ip);
    h = h * 31 + std::hash<std::string>{}(k.dst_ip);
    return h * 31 + (size_t(k.listener_port) << 16 | k.dst_port);
  }
};
Key key_of(const ConnectionInfo& c) { return {c.listener_port, c.src_ip, c.dst_ip, c.dst_port}; }

Decision denied(std::string why) {
  Decision d;
  d.reason = std::move(why);
  return d;
}

constexpr size_t kSendLimit = 8 << 20;  // bytes waiting for the agent; records beyond: dropped
constexpr size_t kWakeAt = 64 << 10;     // records waiting that wake the sending thread
constexpr int kFlushMs = 20;             // else it sends them this often

}  // namespace

struct AgentLink::Impl {
  std::string path;
  std::chrono::milliseconds timeout;
  int wake = -1;
  std::thread thread;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;  // everything below
  bool connected = false;
  uint64_t rev = 0;
  uint64_t next_id = 1;
  std::unordered_map<Key, Decision, KeyHash> cache;
  struct Pending {
    std::function<void(Decision)> done;
    std::chrono::steady_clock::time_point deadline;
    Key key;
    json ask;  // sent again on connecting
  };
  std::map<uint64_t, Pending> pending;
  std::string out;
  uint64_t dropped = 0;
  // The Gateway listeners' routes, as last pushed (kept while the agent is
  // away, as Envoy keeps its last configuration).
  std::shared_ptr<const GatewayRoutes> gateway;

  void run();
  void send_locked(const json& j, bool droppable) { send_line_locked(j.dump() + "\n", droppable); }
  void send_line_locked(const std::string& line, bool droppable) {
    if (!connected) {
      if (droppable) ++dropped;
      return;
    }
    if (droppable && out.size() > kSendLimit) {
      ++dropped;
      return;
    }
    // The thread sends whatever is waiting each time round (every 20 ms at
    // least): woken at once for an ask (a request waits for it), for records
    // only when they pile up.
    const bool first = out.empty();
    out += line;
    if (droppable ? out.size() >= kWakeAt && out.size() - line.size() < kWakeAt : first) {
      uint64_t one = 1;
      (void)!::write(wake, &one, sizeof(one));
    }
  }
  // Every waiting ask answered with a denial (outside the lock).
  void fail_all(const std::string& why) {
    std::map<uint64_t, Pending> gone;
    {
      std::lock_guard lock(mu);
      gone.swap(pending);
    }
    for (auto& [id, p] : gone) p.done(denied(why));
  }
  void handle(const std::string& line);
  // Asks not answered in time: denied.
  void expire() {
    std::vector<std::function<void(Decision)>> late;
    {
      std::lock_guard lock(mu);
      const auto now = std::chrono::steady_clock::now();
      for (auto it = pending.begin(); it != pending.end();) {
        if (it->second.deadline > now) {
          ++it;
          continue;
        }
        late.push_back(std::move(it->second.done));
        it = pending.erase(it);
      }
    }
    for (auto& done : late) done(denied("the agent did not answer in time"));
  }
};

AgentLink::AgentLink(std::string socket_path, std::chrono::milliseconds answer_timeout)
    : impl_(std::make_shared<Impl>()) {
  impl_->path = std::move(socket_path);
  impl_->timeout = answer_timeout;
  impl_->wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

AgentLink::~AgentLink() {
  stop();
  if (impl_->wake >= 0) ::close(impl_->wake);
}

void AgentLink::start() {
  if (impl_->thread.joinable()) return;
  impl_->stopping = false;
  impl_->thread = std::thread([impl = impl_] { impl->run(); });
}

void AgentLink::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping = true;
  uint64_t one = 1;
  (void)!::write(impl_->wake, &one, sizeof(one));
  impl_->thread.join();
  impl_->fail_all("proxy stopping");
}

std::optional<Decision> AgentLink::cached(const ConnectionInfo& c) {
  std::lock_guard lock(impl_->mu);
  if (auto it = impl_->cache.find(key_of(c)); it != impl_->cache.end()) return it->second;
  return std::nullopt;
}

void AgentLink::fetch(const ConnectionInfo& c, std::function<void(Decision)> done) {
  // Not connected (yet, or again): asked once it is, denied if that takes
  // longer than the answer timeout.
  std::lock_guard lock(impl_->mu);
  const uint64_t id = impl_->next_id++;
  json ask = {{"decide", {{"id", id}, {"connection", wire::to_json(c)}}}};
  impl_->send_locked(ask, false);
  impl_->pending[id] = {std::move(done), std::chrono::steady_clock::now() + impl_->timeout, key_of(c),
                        std::move(ask)};
}

void AgentLink::record(const RequestRecord& r) {
  std::string line = wire::record_line(r);
  std::lock_guard lock(impl_->mu);
  impl_->send_line_locked(line, true);
}

bool AgentLink::connected() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connected;
}

uint64_t AgentLink::records_dropped() const {
  std::lock_guard lock(impl_->mu);
  return impl_->dropped;
}

void AgentLink::Impl::handle(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (!j.is_object()) return;
  if (auto g = j.find("gateway"); g != j.end()) {
    auto routes = GatewayRoutes::from_json(*g);
    if (!routes) {
      log::warn("proxy: gateway routes from the agent refused: {}", routes.error().str());
      return;
    }
    for (const auto& p : (*routes)->problems()) log::warn("proxy: HTTPS listener certificate refused: {}", p);
    std::lock_guard lock(mu);
    gateway = std::move(*routes);
    return;
  }
  if (!j.contains("decision")) {
    if (j.contains("rev")) {
      std::lock_guard lock(mu);
      rev = j["rev"].get<uint64_t>();
      cache.clear();
    }
    return;
  }
  const uint64_t id = j.value("id", uint64_t(0));
  auto d = wire::decision_from_json(j["decision"]);
  std::function<void(Decision)> done;
  {
    std::lock_guard lock(mu);
    auto it = pending.find(id);
    if (it == pending.end()) return;  // answered already (timed out)
    done = std::move(it->second.done);
    // Kept only when computed for the policy this side knows of: a
    // revision sent meanwhile makes it stale.
    if (d && j.value("rev", uint64_t(0)) == rev) {
      if (cache.size() > 65536) cache.clear();
      cache[it->second.key] = *d;
    }
    pending.erase(it);
  }
  done(d ? std::move(*d) : denied("bad answer from the agent: " + d.error().str()));
}

void AgentLink::Impl::run() {
  int fd = -1;
  std::string in;
  bool told = false;  // logged the agent missing
  while (!stopping) {
    if (fd < 0) {
      fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
      if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (!told) log::warn("proxy: agent socket {}: {}; every request denied until it answers", path,
                             std::strerror(errno));
        told = true;
        if (fd >= 0) ::close(fd);
        fd = -1;
        pollfd w{wake, POLLIN, 0};
        ::poll(&w, 1, 100);
        uint64_t n;
        (void)!::read(wake, &n, sizeof(n));
        expire();
        continue;
      }
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      std::lock_guard lock(mu);
      connected = true;
      cache.clear();
      out.clear();
      in.clear();
      for (const auto& [id, p] : pending) out += p.ask.dump() + "\n";
      told = false;
      log::info("proxy: connected to the agent at {}", path);
    }
    bool want_out;
    {
      std::lock_guard lock(mu);
      want_out = !out.empty();
    }
    pollfd p[2] = {{fd, static_cast<short>(POLLIN | (want_out ? POLLOUT : 0)), 0}, {wake, POLLIN, 0}};
    ::poll(p, 2, kFlushMs);
    if (p[1].revents & POLLIN) {
      uint64_t n;
      (void)!::read(wake, &n, sizeof(n));
    }
    bool broken = (p[0].revents & (POLLERR | POLLHUP)) != 0;
    if (p[0].revents & POLLIN) {
      char buf[65536];
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
        broken = true;
      } else if (n > 0) {
        in.append(buf, static_cast<size_t>(n));
        size_t start = 0;
        for (size_t nl; (nl = in.find('\n', start)) != std::string::npos; start = nl + 1)
          handle(in.substr(start, nl - start));
        in.erase(0, start);
      }
    }
    if (!broken) {
      std::lock_guard lock(mu);
      if (!out.empty()) {
        const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (n > 0) out.erase(0, static_cast<size_t>(n));
        else if (n < 0 && errno != EAGAIN && errno != EINTR) broken = true;
      }
    }
    expire();
    if (broken) {
      log::warn("proxy: lost the agent at {}; every request denied until it is back", path);
      ::close(fd);
      fd = -1;
      {
        std::lock_guard lock(mu);
        connected = false;
        cache.clear();
        out.clear();
      }
      fail_all("the agent went away");
    }
  }
  if (fd >= 0) ::close(fd);
  std::lock_guard lock(mu);
  connected = false;
}

std::unique_ptr<HttpProxy> linked_proxy(ProxyOptions o, AgentLink& link) {
  return std::make_unique<HttpProxy>(
      std::move(o), [&link](const ConnectionInfo& c) { return link.cached(c); },
      [&link](const RequestRecord& r) { link.record(r); },
      [&link](const ConnectionInfo& c, std::function<void(Decision)> done) { link.fetch(c, std::move(done)); });
}

std::shared_ptr<const GatewayRoutes> AgentLink::gateway() const {
  std::lock_guard lock(impl_->mu);
  return impl_->gateway;
}

namespace {
// Gateway listeners before the agent's first snapshot: 503 (a TCP
// connection: reset).
const RouteAnswer kNoRoutesYet = [] {
  RouteAnswer a;
  a.status = 503;
  return a;
}();
}  // namespace

int run_proxy_process(const ProxyProcessOptions& o, const std::atomic<bool>& stop) {
  AgentLink link(o.agent_socket);
  link.start();
  std::vector<std::unique_ptr<HttpProxy>> proxies;
  std::vector<int> fds = o.listen_fds;
  if (o.gateway_fd >= 0) fds.push_back(o.gateway_fd);
  if (o.gateway_tls_fd >= 0) fds.push_back(o.gateway_tls_fd);
  for (int fd : fds) {
    ProxyOptions po;
    po.listen_fd = fd;
    po.socket_mark = o.socket_mark;
    po.threads = o.threads;
    auto p = linked_proxy(po, link);
    if (fd == o.gateway_tls_fd) {
      // HTTPS listeners: the certificate by the frontend and SNI from the
      // same snapshot; none: the handshake fails.
      p->set_tls([&link](const ConnectionInfo& c, const std::string& name) -> std::shared_ptr<ssl_ctx_st> {
        auto routes = link.gateway();
        return routes ? routes->certificate(c, name) : nullptr;
      });
    }
    if (fd == o.gateway_fd || fd == o.gateway_tls_fd) {
      // Gateway listeners: every request routed by the agent's last
      // snapshot; none yet (the agent never answered): 503.
      p->set_router([&link](const ConnectionInfo& c, const HttpRequestView& v) {
        auto routes = link.gateway();
        return routes ? routes->route(c, v) : kNoRoutesYet;
      });
    }
    if (auto st = p->start(); !st) {
      log::error("proxy: {}", st.error().str());
      return 1;
    }
    log::info("proxy: serving :{}", p->port());
    proxies.push_back(std::move(p));
  }
  // TCP listeners, and TLS passthrough ones (routed by the ClientHello's SNI).
  std::vector<std::unique_ptr<TcpRelay>> relays;
  for (int fd : {o.gateway_tcp_fd, o.gateway_passthrough_fd}) {
    if (fd < 0) continue;
    TcpRelayOptions to;
    to.listen_fd = fd;
    to.socket_mark = o.socket_mark;
    to.server_name = fd == o.gateway_passthrough_fd;
    auto relay = std::make_unique<TcpRelay>(to, [&link](const ConnectionInfo& c) {
      auto routes = link.gateway();
      return routes ? routes->route_tcp(c) : kNoRoutesYet;
    });
    if (auto st = relay->start(); !st) {
      log::error("proxy: {}", st.error().str());
      return 1;
    }
    log::info("proxy: relaying {} on :{}", to.server_name ? "TLS (passthrough)" : "TCP", relay->port());
    relays.push_back(std::move(relay));
  }
  const pid_t parent = ::getppid();
  while (!stop.load() && ::getppid() == parent)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (auto& p : proxies) p->stop();
  for (auto& r : relays) r->stop();
  link.stop();
  return 0;
}

}  // namespace axon::proxy
