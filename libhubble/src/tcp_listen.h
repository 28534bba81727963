// Internal: a listening IPv4 TCP socket on "host:port" (host "" or
// "localhost" = 127.0.0.1; port 0 = a free one), for the metrics server and
// the relay's forwarder.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <utility>

#include "axon/base/fd.h"
#include "axon/base/result.h"

namespace axon::hubble {

// "host:port" as a socket address (host "" or "localhost" = 127.0.0.1);
// nullopt when it is not an IPv4 address and a port.
inline std::optional<sockaddr_in> parse_ipv4_port(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = address.substr(0, colon);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  const std::string port_text = address.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  int port = std::stoi(port_text);
  if (port > 65535) return std::nullopt;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return std::nullopt;
  return sa;
}

// The socket and the port it is bound to. `what` names it in errors.
inline Result<std::pair<Fd, int>> listen_tcp(const std::string& address, const std::string& what) {
  auto parsed = parse_ipv4_port(address);
  if (!parsed) {
    return Error{what + " address " + address + ": use IPv4:PORT (e.g. 127.0.0.1:12000)"};
  }
  sockaddr_in sa = *parsed;
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
