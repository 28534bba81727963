// The agent's and the operator's configuration: the axon-config
// ConfigMap mounted as a directory, one file per cilium-config key.
#pragma once

#include <fstream>
#include <iterator>
#include <string>

namespace axon::agent {

// The value of `key` in `dir` (trailing newlines and spaces dropped), or
// `fallback` when the file is absent.
inline std::string read_key(const std::string& dir, const std::string& key,
                            const std::string& fallback) {
  std::ifstream in(dir + "/" + key);
  if (!in) return fallback;
  std::string v((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

}  // namespace axon::agent
