// Reading the objects leniently (libgateway's parsers and its status
// computation): a member of the wrong type reads as absent.
#pragma once

#include <optional>
#include <string>

#include "axon/gateway/model.h"

namespace axon::gateway::detail {

// A member, or null when `o` is no object or has none.
inline const Json& member(const Json& o, const char* key) {
  static const Json null;
  if (!o.is_object()) return null;
  auto it = o.find(key);
  return it != o.end() ? *it : null;
}

// An array member, or an empty array: loops need no checks.
inline const Json& list(const Json& o, const char* key) {
  static const Json empty = Json::array();
  const Json& v = member(o, key);
  return v.is_array() ? v : empty;
}

// An object member, or an empty object.
inline const Json& object(const Json& o, const char* key) {
  static const Json empty = Json::object();
  const Json& v = member(o, key);
  return v.is_object() ? v : empty;
}

inline std::string text(const Json& o, const char* key, std::string fallback = "") {
  const Json& v = member(o, key);
  return v.is_string() ? v.get<std::string>() : fallback;
}

inline std::optional<int> integer(const Json& o, const char* key) {
  const Json& v = member(o, key);
  if (!v.is_number_integer()) return std::nullopt;
  return v.get<int>();
}

}  // namespace axon::gateway::detail
