// Internal: a listening IPv4 TCP socket on "host:port" (host "" or
// "localhost" = 127.0.0.1; port 0 = a free one), for the metrics server and
// the relay's forwarder.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <utility>

#include "axon/base/fd.h"
#include "axon/base/result.h"

namespace axon::hubble {

// The socket and the port it is bound to. `what` names it in errors.
inline Result<std::pair<Fd, int>> listen_tcp(const std::string& address, const std::string& what) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return Error{what + " address " + address + ": use host:port"};
  std::string host = address.substr(0, colon);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (...) {
    return Error{what + " address " + address + ": bad port"};
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
    return Error{what + " address " + address + ": not an IPv4 address"};
  }
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sys_error(what + ": socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    return sys_error(what + ": bind " + address);
  if (::listen(fd.get(), 16) != 0) return sys_error(what + ": listen " + address);
  socklen_t len = sizeof(sa);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return std::make_pair(std::move(fd), static_cast<int>(ntohs(sa.sin_port)));
}

}  // namespace axon::hubble
