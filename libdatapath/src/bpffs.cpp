#include "axon/datapath/bpffs.h"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>

#include "axon/base/log.h"

namespace axon::datapath {

Status ensure_bpffs() {
  const std::string root(kBpffsRoot);
  struct statfs fs {};
  if (statfs(root.c_str(), &fs) != 0) return sys_error("statfs " + root);
  if (static_cast<unsigned long>(fs.f_type) == BPF_FS_MAGIC) return {};
  log::info("mounting bpffs at {}", root);
  if (mount("bpf", root.c_str(), "bpf", 0, "mode=0700") != 0) {
    return sys_error("mount bpffs at " + root);
  }
  return {};
}

std::string node_pin_dir(std::string_view lab, std::string_view node) {
  return std::string(kAxonPinRoot) + "/" + std::string(lab) + "/" + std::string(node);
}

Status make_pin_dir(const std::string& dir) {
  if (!dir.starts_with(std::string(kAxonPinRoot) + "/") && dir != kAxonPinRoot) {
    return Error{"pin directory " + dir + " is not under " + std::string(kAxonPinRoot)};
  }
  for (size_t pos = std::string(kBpffsRoot).size() + 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir " + part);
  }
  return {};
}

Status remove_pins(const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    std::string path = dir + "/" + name;
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("unlink " + path);
  }
  if (rmdir(dir.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY) {
    return sys_error("rmdir " + dir);
  }
  return {};
}

}  // namespace axon::datapath
