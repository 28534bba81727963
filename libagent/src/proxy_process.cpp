// ProxyProcess: two threads, one starting and waiting for the proxy
// process, one serving its socket (poll; one proxy connected at a time, the
// newest).
#include "axon/agent/proxy_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "axon/base/log.h"
#include "axon/proxy/agent_link.h"

namespace axon::agent {

using nlohmann::json;

namespace {

Result<int> transparent_listener(uint16_t port, uint32_t mark) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{std::string("socket: ") + std::strerror(errno)};
  const int one = 1;
  const int m = static_cast<int>(mark);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  const char* step = nullptr;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) step = "SO_REUSEADDR";
  else if (::setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) != 0) step = "IP_TRANSPARENT";
  // Accepted sockets inherit it; the SYN-ACK is sent with it too.
  else if (mark != 0 && ::setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)) != 0) step = "SO_MARK";
  else if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) step = "bind";
  else if (::listen(fd, 4096) != 0) step = "listen";
  if (step != nullptr) {
    const std::string e = std::strerror(errno);
    ::close(fd);
    return Error{"proxy listener :" + std::to_string(port) + ": " + step + ": " + e};
  }
  return fd;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + ::strsignal(WTERMSIG(status));
  return "ended";
}

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

ProxyProcess::ProxyProcess(ProxyProcessConfig c, Decide decide, Record record)
    : c_(std::move(c)), decide_(std::move(decide)), record_(std::move(record)) {}

ProxyProcess::~ProxyProcess() { stop(); }

Status ProxyProcess::start() {
  std::vector<uint16_t> ports = c_.ports;  // then the Gateway's, in this order
  if (c_.gateway_port != 0) ports.push_back(c_.gateway_port);
  if (c_.gateway_tcp_port != 0) ports.push_back(c_.gateway_tcp_port);
  if (c_.gateway_tls_port != 0) ports.push_back(c_.gateway_tls_port);
  if (c_.gateway_passthrough_port != 0) ports.push_back(c_.gateway_passthrough_port);
  for (uint16_t port : ports) {
    auto fd = transparent_listener(port, c_.socket_mark);
    if (!fd) {
      for (int l : listeners_) ::close(l);
      listeners_.clear();
      return fd.error();
    }
    listeners_.push_back(*fd);
  }
  ::unlink(c_.socket.c_str());
  server_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  c_.socket.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (server_ < 0 || ::bind(server_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::chmod(c_.socket.c_str(), 0600) != 0 || ::listen(server_, 4) != 0) {
    const std::string e = std::strerror(errno);
    stop();
    return Error{"proxy socket " + c_.socket + ": " + e};
  }
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  stopping_ = false;
  server_thread_ = std::thread([this] { serve(); });
  if (!c_.exe.empty()) supervisor_ = std::thread([this] { supervise(); });
  return {};
}

void ProxyProcess::stop() {
  stopping_ = true;
  {
    std::lock_guard lock(mu_);
    if (state_.pid > 0) ::kill(state_.pid, SIGTERM);
  }
  cv_.notify_all();
  if (supervisor_.joinable()) {
    // SIGTERM: done within a few hundred ms; else SIGKILL.
    for (int i = 0; i < 30; ++i) {
      {
        std::lock_guard lock(mu_);
        if (state_.pid == 0) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    {
      std::lock_guard lock(mu_);
      if (state_.pid > 0) ::kill(state_.pid, SIGKILL);
    }
    supervisor_.join();
  }
  if (wake_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof(one));
  }
  if (server_thread_.joinable()) server_thread_.join();
  if (server_ >= 0) {
    ::close(server_);
    ::unlink(c_.socket.c_str());
  }
  server_ = -1;
  if (wake_ >= 0) ::close(wake_);
  wake_ = -1;
  for (int l : listeners_) ::close(l);
  listeners_.clear();
}

void ProxyProcess::set_gateway(std::string line) {
  {
    std::lock_guard lock(mu_);
    gateway_line_ = std::move(line);
  }
  gateway_gen_.fetch_add(1);
  if (wake_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof(one));
  }
}

void ProxyProcess::policy_changed() {
  rev_.fetch_add(1);
  if (wake_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof(one));
  }
}

ProxyProcess::State ProxyProcess::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

void ProxyProcess::supervise() {
  // Everything the child needs, made before fork (only exec-safe calls after).
  std::vector<std::string> args = {c_.exe, "agent", "proxy", "--agent-socket", c_.socket, "--socket-mark",
                                   std::to_string(c_.socket_mark)};
  std::vector<std::string> flags(c_.ports.size(), "--listen-fd");
  if (c_.gateway_port != 0) flags.push_back("--gateway-fd");
  if (c_.gateway_tcp_port != 0) flags.push_back("--gateway-tcp-fd");
  if (c_.gateway_tls_port != 0) flags.push_back("--gateway-tls-fd");
  if (c_.gateway_passthrough_port != 0) flags.push_back("--gateway-passthrough-fd");
  for (size_t i = 0; i < listeners_.size(); ++i) {
    args.push_back(flags[i]);
    args.push_back(std::to_string(3 + i));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<int> high(listeners_.size(), -1);

  auto backoff = std::chrono::milliseconds(100);
  while (!stopping_) {
    std::unique_lock lock(mu_);
    const pid_t pid = ::fork();
    if (pid == 0) {
      // The child: dies with this thread (the agent); the listeners at 3, 4, ...
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      for (size_t i = 0; i < listeners_.size(); ++i) high[i] = ::fcntl(listeners_[i], F_DUPFD, 100);
      for (size_t i = 0; i < listeners_.size(); ++i) {
        ::dup2(high[i], static_cast<int>(3 + i));
        ::fcntl(static_cast<int>(3 + i), F_SETFD, 0);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (pid < 0) {
      state_.last_exit = std::string("fork: ") + std::strerror(errno);
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_.load(); });
      continue;
    }
    state_.pid = pid;
    state_.since = std::chrono::steady_clock::now();
    state_.connected = false;
    lock.unlock();
    log::info("L7 proxy started (pid {})", pid);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    lock.lock();
    state_.pid = 0;
    state_.last_exit = describe_exit(status);
    const auto up = std::chrono::steady_clock::now() - state_.since;
    if (stopping_) break;
    ++state_.restarts;
    backoff = up > std::chrono::seconds(10) ? std::chrono::milliseconds(100)
                                            : std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
    log::warn("L7 proxy (pid {}) {}: restarting in {} ms (connections wait in its listeners meanwhile)",
              pid, state_.last_exit, backoff.count());
    cv_.wait_for(lock, backoff, [this] { return stopping_.load(); });
  }
}

bool ProxyProcess::serve_line(const std::string& line, std::string& out) {
  // A record per request: read without a DOM.
  if (line.rfind(R"({"record":)", 0) == 0) {
    auto r = proxy::wire::read_record_line(line);
    if (!r) return false;
    {
      std::lock_guard lock(mu_);
      ++state_.requests;
      if (!r->forwarded && r->code == 403) ++state_.denied;
    }
    if (record_) record_(*r);
    return true;
  }
  json j = json::parse(line, nullptr, false);
  if (!j.is_object()) return false;
  if (auto it = j.find("decide"); it != j.end() && it->is_object()) {
    // The revision before the answer: a change meanwhile makes it stale.
    const uint64_t rev = rev_.load();
    const auto c = proxy::wire::connection_from_json(it->value("connection", json::object()));
    const proxy::Decision d = decide_(c);
    out += json{{"id", it->value("id", uint64_t(0))}, {"rev", rev}, {"decision", proxy::wire::to_json(d)}}.dump();
    out += '\n';
    return true;
  }
  return false;
}

void ProxyProcess::serve() {
  int client = -1;
  std::string in;
  uint64_t sent_rev = 0, sent_gateway = 0;
  auto drop = [&] {
    if (client >= 0) ::close(client);
    client = -1;
    in.clear();
    std::lock_guard lock(mu_);
    state_.connected = false;
  };
  while (!stopping_) {
    pollfd p[3] = {{server_, POLLIN, 0}, {wake_, POLLIN, 0}, {client, POLLIN, 0}};
    ::poll(p, client >= 0 ? 3 : 2, 200);
    if (p[1].revents & POLLIN) {
      uint64_t n;
      (void)!::read(wake_, &n, sizeof(n));
    }
    if (p[0].revents & POLLIN) {
      const int c = ::accept4(server_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        drop();  // the newest proxy wins (the old one is gone or going)
        client = c;
        const timeval tv{2, 0};  // a proxy that does not read: dropped
        ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        sent_rev = 0;
        sent_gateway = 0;
        std::lock_guard lock(mu_);
        state_.connected = true;
      }
    }
    if (client < 0) continue;
    std::string out;
    if (const uint64_t rev = rev_.load(); rev != sent_rev) {
      out += json{{"rev", rev}}.dump() + "\n";
      sent_rev = rev;
    }
    if (const uint64_t g = gateway_gen_.load(); g != sent_gateway) {
      std::lock_guard lock(mu_);
      out += gateway_line_;
      sent_gateway = g;
    }
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      const ssize_t n = ::read(client, buf, sizeof(buf));
      if (n <= 0) {
        if (!(n < 0 && errno == EINTR)) drop();
        continue;
      }
      in.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = in.find('\n', start)) != std::string::npos; start = nl + 1)
        serve_line(in.substr(start, nl - start), out);
      in.erase(0, start);
      if (in.size() > (1u << 20)) {
        log::warn("L7 proxy: a line over 1 MiB on its socket: dropped the connection");
        drop();
        continue;
      }
    }
    if (!out.empty() && !write_all(client, out)) drop();
  }
  drop();
}

}  // namespace axon::agent
