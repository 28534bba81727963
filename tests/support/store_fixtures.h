// Small objects and waits for tests of cluster stores (the lab's etcd, a
// kube-apiserver).
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include "axon/client/yaml.h"

namespace axon::test {

inline client::Json config_map(const std::string& ns, const std::string& name,
                               const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", {{"k", value}}}};
}

inline client::Json name_space(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

// Polls `cond` every 50 ms for up to 10 s.
template <typename F>
bool eventually(F cond) {
  for (int i = 0; i < 200; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

}  // namespace axon::test
