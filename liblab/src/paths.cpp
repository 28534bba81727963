#include "axon/lab/paths.h"

#include "axon/lab/process.h"

#include <algorithm>
#include <filesystem>

#include "axon/base/strings.h"

namespace axon::lab {
namespace fs = std::filesystem;

std::string node_name(int i) {
  return "node" + std::to_string(i);
}
std::string node_ip(int i) {
  return "10.0.0." + std::to_string(10 + i);
}
std::string node_pod_cidr(int i) {
  return "10.244." + std::to_string(i) + ".0/24";
}

Status check_lab_name(const std::string& name) {
  // No '-': the lab's namespaces are found by the prefix "axon-<name>-",
  // which must not also match another lab's ("lab" vs "lab-2").
  if (name.empty() || name.size() > 12 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos) {
    return Error{"invalid lab name \"" + name + "\": use 1-12 characters of a-z and 0-9"};
  }
  return {};
}

std::vector<std::string> list_labs(const std::string& state_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state_dir, ec)) {
    if (e.is_directory() && fs::exists(e.path() / "lab.json"))
      out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<LabPaths> find_lab(const std::string& state_dir, const std::string& wanted) {
  if (!wanted.empty()) {
    if (auto st = check_lab_name(wanted); !st) return st.error();
    LabPaths p{state_dir, wanted};
    if (!fs::exists(p.lab_file())) {
      return Error{"no lab named \"" + wanted + "\" is up (no " + p.lab_file() +
                   "); start it with: axon lab up --name " + wanted};
    }
    return p;
  }
  auto labs = list_labs(state_dir);
  if (labs.empty()) {
    return Error{"no lab is up in " + state_dir + ": start one with `axon lab up`"};
  }
  if (labs.size() > 1) {
    return Error{"several labs are up (" + join(labs, ", ") +
                 "): pick one with --lab NAME or AXON_LAB"};
  }
  return LabPaths{state_dir, labs.front()};
}

}  // namespace axon::lab

namespace axon::lab {

std::optional<LabPaths> lab_from_store_target(const std::string& target) {
  const std::string prefix = "unix:", suffix = "/etcd/etcd.sock:0";
  if (!target.starts_with(prefix) || !target.ends_with(suffix)) return std::nullopt;
  std::string dir = target.substr(prefix.size(), target.size() - prefix.size() - suffix.size());
  while (dir.starts_with("//")) dir.erase(0, 1);
  auto slash = dir.rfind('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  LabPaths p{dir.substr(0, slash), dir.substr(slash + 1)};
  if (!check_lab_name(p.name)) return std::nullopt;
  return p;
}

std::optional<LabPaths> lab_of_pod(const std::string& state_dir, const std::string& name) {
  if (state_dir.empty() || !check_lab_name(name)) return std::nullopt;
  LabPaths p{state_dir, name};
  if (!fs::exists(p.lab_file())) return std::nullopt;
  return p;
}

std::string machine_netns(const LabPaths& lab) {
  // The lab's etcd, or the Kubernetes lab's API server proxy: both run there.
  auto pid = read_live_pid(lab.pid_dir() + "/etcd.pid");
  if (!pid) pid = read_live_pid(lab.pid_dir() + "/apiserver-proxy.pid");
  return pid ? "/proc/" + std::to_string(*pid) + "/ns/net" : "";
}

}  // namespace axon::lab
