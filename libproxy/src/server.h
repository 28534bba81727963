// What the HTTP proxy and the TCP relay share: a listening socket (made, or
// inherited from the agent), the threads running its io_context, and the
// accept loop handing each connection to a session coroutine.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "axon/base/result.h"

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

struct Server {
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  uint16_t bound_port = 0;
  std::atomic<uint64_t> connections{0};

  using Session = std::function<net::awaitable<void>(tcp::socket)>;

  // Listens, then serves every accepted connection with `session` (a strand
  // each when more than one thread runs) on spec.threads threads; `keep`
  // stays alive while they run.
  Status start(const ListenSpec& spec, Session session, std::shared_ptr<void> keep) {
    boost::system::error_code ec;
    acceptor.emplace(ioc);
    if (spec.listen_fd >= 0) {
      acceptor->assign(tcp::v4(), spec.listen_fd, ec);
      if (ec) {
        acceptor.reset();
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
        acceptor.reset();
        return Error{spec.what + " listener on " + spec.address + ":" + std::to_string(spec.port) + ": " +
                     ec.message()};
      }
    }
    bound_port = acceptor->local_endpoint(ec).port();
    work.emplace(ioc.get_executor());
    net::co_spawn(ioc, accept_loop(spec.threads > 1, std::move(session)), net::detached);
    for (unsigned i = 0; i < std::max(1u, spec.threads); ++i)
      threads.emplace_back([this, keep] { ioc.run(); });
    return {};
  }

  // Stops accepting and closes every connection (their coroutines end).
  void stop() {
    if (threads.empty()) return;
    net::post(ioc, [this] {
      boost::system::error_code ec;
      if (acceptor) acceptor->close(ec);
    });
    work.reset();
    ioc.stop();
    for (auto& t : threads) t.join();
    threads.clear();
  }

 private:
  net::awaitable<void> accept_loop(bool strands, Session session) {
    for (;;) {
      boost::system::error_code ec;
      net::any_io_executor ex = strands ? net::any_io_executor(net::make_strand(ioc))
                                        : net::any_io_executor(ioc.get_executor());
      tcp::socket s = co_await acceptor->async_accept(ex, net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor->is_open()) co_return;
        continue;
      }
      ++connections;
      net::co_spawn(ex, session(std::move(s)), net::detached);
    }
  }
};

}  // namespace axon::proxy::detail
