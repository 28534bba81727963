#include "validation/checker.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace axon::client::validation {

std::string type_word(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "a string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::object:
      return "a mapping";
    case Json::value_t::null:
      return "empty (null)";
    default:
      return "unknown";
  }
}

std::string shown(const Json& v) {
  if (v.is_string()) return "\"" + v.get<std::string>() + "\"";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "a mapping";
  return v.dump();
}

const Json* field(const Json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) return nullptr;
  return &o[key];
}

bool parse_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string check_cidr(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return "is not a CIDR: missing \"/prefix-length\"";
  std::string ip = s.substr(0, slash), len = s.substr(slash + 1);
  unsigned char buf[16];
  int max = 0;
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    max = 32;
  } else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    max = 128;
  } else {
    return "is not a CIDR: \"" + ip + "\" is not an IP address";
  }
  if (len.empty() || len.size() > 3 ||
      !std::all_of(len.begin(), len.end(), [](char c) { return std::isdigit(c); }) ||
      std::stoi(len) > max) {
    return "is not a CIDR: the prefix length must be 0-" + std::to_string(max);
  }
  return "";
}

}  // namespace axon::client::validation
