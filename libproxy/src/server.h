// What the HTTP proxy and the TCP relay share: a listening socket (made, or
// inherited from the agent), the threads running its io_context, and the
// accept loop handing each connection to a session coroutine.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "axon/base/result.h"

// GCC 12 takes the coroutine frame's class-scope sized operator delete
// (Asio's awaitable_frame_base, paired with its own operator new) for a
// mismatch once the frame's allocation is inlined: a known false positive
// (GCC PR middle-end/109224), off for the files serving connections.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace axon::proxy::detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;

using transparent_option = net::detail::socket_option::boolean<SOL_IP, IP_TRANSPARENT>;
using mark_option = net::detail::socket_option::integer<SOL_SOCKET, SO_MARK>;

struct ListenSpec {
  int listen_fd = -1;  // inherited; -1: made from the rest
  std::string address;
  uint16_t port = 0;
  bool transparent = false;
  uint32_t socket_mark = 0;  // accepted sockets inherit it (the SYN-ACK too)
  unsigned threads = 1;
  std::string what = "proxy";  // for errors
};

// The proxies' concrete executor: a connection's every operation goes
// through it (Asio's type-erased any_io_executor costs a copy, a prefer and
// a destroy of its own per operation).
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Acceptor = net::basic_socket_acceptor<tcp, Executor>;
using Timer = net::basic_waitable_timer<std::chrono::steady_clock,
                                        net::wait_traits<std::chrono::steady_clock>, Executor>;
template <class T = void>
using Awaitable = net::awaitable<T, Executor>;
inline constexpr net::use_awaitable_t<Executor> use_aw{};

struct Server {
  // One io_context per thread, each accepting on the one listener (its own
  // descriptor of it): a connection's coroutines all run on the thread that
  // accepted it, so none needs a strand (nginx's workers, in threads).
  struct Loop {
    net::io_context ioc{1};
    std::optional<Acceptor> acceptor;
    std::optional<net::executor_work_guard<Executor>> work;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops;
  uint16_t bound_port = 0;
  std::atomic<uint64_t> connections{0};

  using Session = std::function<Awaitable<>(Socket)>;

  // Listens, then serves every accepted connection with `session` on
  // spec.threads threads; `keep` stays alive while they run.
  Status start(const ListenSpec& spec, Session session, std::shared_ptr<void> keep) {
    boost::system::error_code ec;
    session_ = std::move(session);
    loops.push_back(std::make_unique<Loop>());
    auto& acceptor = loops[0]->acceptor;
    acceptor.emplace(loops[0]->ioc);
    if (spec.listen_fd >= 0) {
      acceptor->assign(tcp::v4(), spec.listen_fd, ec);
      if (ec) {
        loops.clear();
        return Error{spec.what + " listener (fd " + std::to_string(spec.listen_fd) + "): " + ec.message()};
      }
    } else {
      tcp::endpoint ep(net::ip::make_address(spec.address, ec), spec.port);
      if (!ec) acceptor->open(ep.protocol(), ec);
      if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
      if (!ec && spec.transparent) acceptor->set_option(transparent_option(true), ec);
      if (!ec && spec.socket_mark != 0) acceptor->set_option(mark_option(static_cast<int>(spec.socket_mark)), ec);
      if (!ec) acceptor->bind(ep, ec);
      if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
      if (ec) {
        loops.clear();
        return Error{spec.what + " listener on " + spec.address + ":" + std::to_string(spec.port) + ": " +
                     ec.message()};
      }
    }
    bound_port = acceptor->local_endpoint(ec).port();
    for (unsigned i = 1; i < std::max(1u, spec.threads); ++i) {
      const int fd = ::dup(acceptor->native_handle());
      if (fd < 0) break;  // fewer threads, still serving
      auto l = std::make_unique<Loop>();
      l->acceptor.emplace(l->ioc);
      l->acceptor->assign(tcp::v4(), fd, ec);
      if (ec) {
        ::close(fd);
        break;
      }
      loops.push_back(std::move(l));
    }
    for (auto& l : loops) {
      l->work.emplace(l->ioc.get_executor());
      net::co_spawn(l->ioc, accept_loop(*l), net::detached);
      l->thread = std::thread([l = l.get(), keep] { l->ioc.run(); });
    }
    return {};
  }

  // Stops accepting and closes every connection (their coroutines end).
  void stop() {
    if (loops.empty()) return;
    for (auto& l : loops) {
      net::post(l->ioc, [l = l.get()] {
        boost::system::error_code ec;
        if (l->acceptor) l->acceptor->close(ec);
      });
      l->work.reset();
      l->ioc.stop();
    }
    for (auto& l : loops)
      if (l->thread.joinable()) l->thread.join();
    loops.clear();
  }

 private:
  Session session_;

  Awaitable<> accept_loop(Loop& l) {
    for (;;) {
      boost::system::error_code ec;
      Socket s = co_await l.acceptor->async_accept(net::redirect_error(use_aw, ec));
      if (ec) {
        if (ec == net::error::operation_aborted || !l.acceptor->is_open()) co_return;
        continue;
      }
      ++connections;
      net::co_spawn(l.ioc, session_(std::move(s)), net::detached);
    }
  }
};

}  // namespace axon::proxy::detail
