#include "axon/lab/rootfs.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "axon/base/process.h"
#include "axon/lab/process.h"

namespace axon::lab {
namespace fs = std::filesystem;

namespace {

Status must(int rc, const std::string& what) {
  if (rc != 0) return sys_error(what);
  return {};
}

Status bind_mount(const std::string& source, const std::string& target, bool recursive = false) {
  std::error_code ec;
  if (fs::is_directory(source)) {
    fs::create_directories(target, ec);
  } else if (!fs::exists(target)) {
    fs::create_directories(fs::path(target).parent_path(), ec);
    std::ofstream(target).close();
  }
  unsigned long flags = MS_BIND | (recursive ? MS_REC : 0);
  return must(::mount(source.c_str(), target.c_str(), nullptr, flags, nullptr),
              "bind " + source + " on " + target);
}

Status overlay(const std::string& upper, const std::string& work, const std::string& target) {
  std::error_code ec;
  for (const auto& d : {upper, work, target}) fs::create_directories(d, ec);
  std::string opts = "lowerdir=/,upperdir=" + upper + ",workdir=" + work;
  return must(::mount("overlay", target.c_str(), "overlay", 0, opts.c_str()),
              "mount overlay on " + target);
}

// `path` inside `root`, with symlinks on the way resolved inside `root` (an
// absolute link target starts again at `root`), as container runtimes
// join a mountPath: /var/run/secrets is <root>/run/secrets on Debian,
// never the machine's /run.
std::string in_root(const std::string& root, const std::string& path) {
  std::vector<std::string> todo;
  for (const auto& part : fs::path(path)) {
    const std::string s = part.string();
    if (s != "/" && !s.empty()) todo.push_back(s);
  }
  std::reverse(todo.begin(), todo.end());
  std::vector<std::string> done;
  int links = 0;
  while (!todo.empty()) {
    std::string part = todo.back();
    todo.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    std::string here = root;
    for (const auto& d : done) here += "/" + d;
    here += "/" + part;
    std::error_code ec;
    if (fs::is_symlink(here, ec) && ++links < 40) {
      const fs::path target = fs::read_symlink(here, ec);
      if (target.is_absolute()) done.clear();
      std::vector<std::string> more;
      for (const auto& t : target) {
        const std::string s = t.string();
        if (s != "/" && !s.empty()) more.push_back(s);
      }
      for (auto it = more.rbegin(); it != more.rend(); ++it) todo.push_back(*it);
      continue;
    }
    done.push_back(part);
  }
  std::string out = root;
  for (const auto& d : done) out += "/" + d;
  return out;
}

Status private_mounts() {
  if (::unshare(CLONE_NEWNS) != 0) return sys_error("unshare mount namespace");
  // Slave: mounts made on the machine (bpffs, netns files) still show up here.
  return must(::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr), "make / a slave mount");
}

}  // namespace

Status enter_node_view(const LabPaths& paths, const std::string& node) {
  const std::string nr = paths.node_root(node);
  const std::string view = nr + "/view";
  std::error_code ec;
  for (const char* d : {"/run/axon", "/opt/cni/bin", "/etc/cni/net.d"})
    fs::create_directories(nr + d, ec);
  fs::create_directories(paths.node_bpffs(node), ec);
  if (ec) return Error{"create " + paths.node_bpffs(node) + ": " + ec.message()};
  if (auto st = private_mounts(); !st) return st;
  if (auto st = overlay(nr + "/upper", nr + "/work", view); !st) return st;
  for (const char* d : {"/proc", "/sys", "/dev"}) {
    if (auto st = bind_mount(d, view + d, true); !st) return st;
  }
  if (auto st = bind_mount(paths.node_bpffs(node), view + "/sys/fs/bpf"); !st) return st;
  // The machine's network namespace files: a recursive bind of a shared
  // mount, so namespaces added later (pods') show up here too.
  if (fs::exists("/run/netns")) {
    if (auto st = bind_mount("/run/netns", view + "/run/netns", true); !st) return st;
  }
  if (auto st = bind_mount(nr + "/run/axon", view + "/run/axon"); !st) return st;
  if (auto st = bind_mount(nr + "/opt/cni/bin", view + "/opt/cni/bin"); !st) return st;
  if (auto st = bind_mount(nr + "/etc/cni/net.d", view + "/etc/cni/net.d"); !st) return st;
  if (auto st = bind_mount(paths.dir(), view + paths.dir()); !st) return st;
  // The axon binary, if it lives on another filesystem than the root.
  const std::string exe = proc::self_exe();
  if (!fs::exists(view + exe)) {
    if (auto st = bind_mount(fs::path(exe).parent_path().string(),
                             view + fs::path(exe).parent_path().string());
        !st) {
      return st;
    }
  }
  if (::chroot(view.c_str()) != 0) return sys_error("chroot " + view);
  if (::chdir("/") != 0) return sys_error("chdir /");
  return {};
}

Result<pid_t> start_pod_process(const PodLaunch& l) {
  std::error_code ec;
  const std::string root = l.pod_dir + "/root";
  for (const auto& d : {l.pod_dir + "/upper", l.pod_dir + "/work", root})
    fs::create_directories(d, ec);
  const std::string exe = proc::self_exe();
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return sys_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    ::close(ready[0]);
    auto fail = [&](const std::string& msg) {
      (void)!::write(ready[1], msg.data(), msg.size());
      _exit(127);
    };
    auto check = [&](const Status& st) {
      if (!st) fail(st.error().str());
    };
    ::setsid();
    int log = ::open(l.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) fail(sys_error("open " + l.log_file).str());
    if (!l.netns.empty()) check(proc::enter_netns(l.netns));
    check(private_mounts());
    if (::unshare(CLONE_NEWUTS) != 0) fail(sys_error("unshare UTS namespace").str());
    if (!l.hostname.empty() && ::sethostname(l.hostname.data(), l.hostname.size()) != 0) {
      fail(sys_error("sethostname").str());
    }
    check(overlay(l.pod_dir + "/upper", l.pod_dir + "/work", root));
    for (const char* d : {"/proc", "/sys", "/dev"}) check(bind_mount(d, root + d, true));
    // Volumes are recursive binds, as container runtimes make them (what is
    // mounted below a hostPath comes along); shared paths go on top.
    for (const auto& m : l.mounts) {
      const std::string target = in_root(root, m.target);
      check(bind_mount(m.source, target, true));
      if (m.read_only && ::mount(nullptr, target.c_str(), nullptr,
                                 MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
        fail(sys_error("make " + m.target + " read-only").str());
      }
    }
    for (const auto& p : l.shared_paths) check(bind_mount(p, root + p));
    if (!l.resolv_conf.empty()) {
      ::unlink((root + "/etc/resolv.conf").c_str());  // may be a symlink into /run
      std::ofstream f(root + "/etc/resolv.conf", std::ios::trunc);
      f << l.resolv_conf;
      if (!f) fail("write /etc/resolv.conf");
    }
    if (::chroot(root.c_str()) != 0) fail(sys_error("chroot " + root).str());
    if (::chdir(l.working_dir.empty() ? "/" : l.working_dir.c_str()) != 0) {
      fail(sys_error("chdir " + l.working_dir).str());
    }
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    std::vector<std::string> env = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
        "HOSTNAME=" + l.hostname};
    for (const auto& [k, v] : l.env) env.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));  // for execvpe's PATH search
    std::vector<std::string> argv = l.argv;
    if (!argv.empty() && argv[0] == "axon") argv[0] = exe;
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvpe(args[0], args.data(), envp.data());
    fail("exec " + argv[0] + ": " + std::strerror(errno));
  }
  ::close(ready[1]);
  std::string err;
  char buf[512];
  ssize_t n;
  while ((n = ::read(ready[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<size_t>(n));
  ::close(ready[0]);
  if (!err.empty()) {
    ::waitpid(pid, nullptr, 0);
    return Error{err};
  }
  return pid;
}

std::vector<std::pair<pid_t, int>> reap_children() {
  std::vector<std::pair<pid_t, int>> out;
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    out.emplace_back(pid, status);
  }
  return out;
}

}  // namespace axon::lab
