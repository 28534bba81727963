#include "axon/hubble/forwarder.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tcp_listen.h"

namespace axon::hubble {

bool other_netns(const std::string& netns_path) {
  struct stat mine{}, theirs{};
  if (::stat("/proc/thread-self/ns/net", &mine) != 0 || ::stat(netns_path.c_str(), &theirs) != 0)
    return false;
  return mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev;
}

Result<std::unique_ptr<SocketForwarder>> SocketForwarder::start(const std::string& listen,
                                                                std::string unix_path,
                                                                const std::string& netns_path) {
  std::unique_ptr<SocketForwarder> f(new SocketForwarder());
  f->unix_path_ = std::move(unix_path);
  Result<std::pair<Fd, int>> l = Error{"not started"};
  if (netns_path.empty()) {
    l = listen_tcp(listen, "forwarder");
  } else {
    // setns changes only the calling thread: a thread of its own makes the
    // socket there, and the socket stays in that namespace.
    std::thread t([&] {
      Fd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns.valid()) {
        l = sys_error("forwarder: open " + netns_path);
        return;
      }
      if (::setns(ns.get(), CLONE_NEWNET) != 0) {
        l = sys_error("forwarder: enter " + netns_path);
        return;
      }
      l = listen_tcp(listen, "forwarder");
    });
    t.join();
  }
  if (!l) return l.error();
  if (auto st = f->run(std::move(*l)); !st) return st.error();
  return f;
}

Status SocketForwarder::run(std::pair<Fd, int> listening) {
  listen_ = std::move(listening.first);
  port_ = listening.second;
  wake_.reset(::eventfd(0, EFD_CLOEXEC));
  if (!wake_.valid()) return sys_error("forwarder: eventfd");
  acceptor_ = std::thread([this] { accept_loop(); });
  return {};
}

Result<std::unique_ptr<SocketForwarder>> SocketForwarder::start_tcp(const std::string& listen,
                                                                    std::string target,
                                                                    std::string target_netns) {
  if (!parse_ipv4_port(target)) {
    return Error{"forwarder: target " + target + " is not IPv4:PORT"};
  }
  auto l = listen_tcp(listen, "forwarder");
  if (!l) return l.error();
  std::unique_ptr<SocketForwarder> f(new SocketForwarder());
  f->tcp_target_ = std::move(target);
  f->tcp_netns_ = std::move(target_netns);
  if (auto st = f->run(std::move(*l)); !st) return st.error();
  return f;
}

// Runs on the connection's own thread, so entering the target's network
// namespace (setns changes only the calling thread) affects nothing else;
// the socket stays in that namespace.
Result<Fd> SocketForwarder::dial() const {
  if (tcp_target_.empty()) {
    Fd server(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (!server.valid()) return sys_error("forwarder: socket");
    if (unix_path_.size() >= sizeof(sa.sun_path)) return Error{"forwarder: socket path too long"};
    std::memcpy(sa.sun_path, unix_path_.c_str(), unix_path_.size() + 1);
    if (::connect(server.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
      return sys_error("forwarder: connect " + unix_path_);
    return server;
  }
  if (!tcp_netns_.empty() && other_netns(tcp_netns_)) {
    Fd ns(::open(tcp_netns_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) return sys_error("forwarder: open " + tcp_netns_);
    if (::setns(ns.get(), CLONE_NEWNET) != 0) return sys_error("forwarder: enter " + tcp_netns_);
  }
  auto addr = parse_ipv4_port(tcp_target_);
  Fd server(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!server.valid()) return sys_error("forwarder: socket");
  if (::connect(server.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0)
    return sys_error("forwarder: connect " + tcp_target_);
  return server;
}

void SocketForwarder::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    Fd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid()) continue;
    std::lock_guard lock(mu_);
    // Join the connections that ended (their threads hold stacks until then).
    for (auto it = pumps_.begin(); it != pumps_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = pumps_.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    pumps_.push_back({std::thread([this, done, c = std::move(client)]() mutable {
                        pump(std::move(c));
                        done->store(true);
                      }),
                      done});
  }
}

// Copies both ways until both directions are closed or stop() is called.
void SocketForwarder::pump(Fd client) {
  auto dialed = dial();
  if (!dialed) return;
  Fd server = std::move(*dialed);
  int ends[2] = {client.get(), server.get()};
  bool open[2] = {true, true};  // reading from ends[i] still possible
  char buf[64 * 1024];
  while (open[0] || open[1]) {
    pollfd fds[3] = {{open[0] ? ends[0] : -1, POLLIN, 0},
                     {open[1] ? ends[1] : -1, POLLIN, 0},
                     {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[2].revents != 0) return;
    for (int i = 0; i < 2; ++i) {
      if (!open[i] || fds[i].revents == 0) continue;
      ssize_t n = ::read(ends[i], buf, sizeof buf);
      if (n <= 0) {
        open[i] = false;
        ::shutdown(ends[1 - i], SHUT_WR);
        continue;
      }
      for (ssize_t done = 0; done < n;) {
        ssize_t w = ::write(ends[1 - i], buf + done, static_cast<size_t>(n - done));
        if (w <= 0) return;
        done += w;
      }
    }
  }
}

void SocketForwarder::stop() {
  std::call_once(stopped_, [&] {
    uint64_t one = 1;
    if (wake_.valid()) (void)!::write(wake_.get(), &one, sizeof(one));
    if (acceptor_.joinable()) acceptor_.join();
    std::lock_guard lock(mu_);
    for (auto& p : pumps_) {
      if (p.thread.joinable()) p.thread.join();
    }
    pumps_.clear();
  });
}

SocketForwarder::~SocketForwarder() {
  stop();
}

}  // namespace axon::hubble
