#include "axon/agent/ipam.h"

#include <arpa/inet.h>

#include <filesystem>
#include <fstream>

namespace axon::agent {
namespace fs = std::filesystem;

namespace {

std::string to_text(uint32_t host_order) {
  in_addr a{htonl(host_order)};
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string read_owner(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

}  // namespace

Result<std::unique_ptr<NodeIpam>> NodeIpam::create(const std::string& cidr,
                                                   const std::string& state_dir) {
  auto slash = cidr.find('/');
  in_addr a{};
  if (slash == std::string::npos || ::inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1) {
    return Error{"invalid pod CIDR \"" + cidr + "\""};
  }
  int len = std::stoi(cidr.substr(slash + 1));
  if (len < 8 || len > 30) return Error{"pod CIDR " + cidr + ": prefix length must be 8-30"};
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) return Error{"create " + state_dir + ": " + ec.message()};
  uint32_t base = ntohl(a.s_addr) & (len == 0 ? 0 : ~((1u << (32 - len)) - 1));
  return std::unique_ptr<NodeIpam>(new NodeIpam(cidr, base, len, state_dir));
}

std::optional<std::string> NodeIpam::address_of(const std::string& container_id) const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (read_owner(e.path()) == container_id) return e.path().filename().string();
  }
  return std::nullopt;
}

Result<std::string> NodeIpam::allocate(const std::string& container_id) {
  std::lock_guard lock(mu_);
  if (auto have = address_of(container_id)) return *have;
  const uint32_t size = 1u << (32 - len_);
  for (uint32_t i = 2; i + 1 < size; ++i) {
    const std::string ip = to_text(base_ + i);
    const fs::path p = fs::path(dir_) / ip;
    if (fs::exists(p)) continue;
    std::ofstream(p) << container_id << "\n";
    return ip;
  }
  return Error{"pod CIDR " + cidr_ + " is full (" + std::to_string(size - 3) +
               " addresses in use)"};
}

void NodeIpam::release(const std::string& container_id) {
  std::lock_guard lock(mu_);
  if (auto ip = address_of(container_id)) {
    std::error_code ec;
    fs::remove(fs::path(dir_) / *ip, ec);
  }
}

size_t NodeIpam::used() const {
  std::error_code ec;
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_, ec)) ++n;
  return n;
}

}  // namespace axon::agent
