#include "axon/lab/exec.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "axon/base/process.h"
#include "axon/lab/process.h"

namespace axon::lab {
namespace {

// Forks; the child calls `enter` (namespaces, root), then execs `argv`.
template <typename Enter>
Result<ExecResult> run_entered(Enter enter, std::vector<std::string> argv, bool capture) {
  if (argv.empty()) return Error{"no command to run"};
  int pipefd[2] = {-1, -1};
  if (capture && ::pipe2(pipefd, O_CLOEXEC) != 0) return sys_error("pipe");
  if (argv[0] == "axon") argv[0] = proc::self_exe();
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) return sys_error("fork");
  if (child == 0) {
    if (capture) {
      ::dup2(pipefd[1], 1);
      ::dup2(pipefd[1], 2);
    }
    if (!enter()) {
      std::perror("enter the namespace");
      _exit(126);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "%s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  ExecResult r;
  if (capture) {
    ::close(pipefd[1]);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0) r.out.append(buf, static_cast<size_t>(n));
    }
    ::close(pipefd[0]);
  }
  int st = 0;
  while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}


}  // namespace

Result<ExecResult> exec_in_pod(const LabPaths& paths, const std::string& pod_uid,
                               std::vector<std::string> argv, bool capture) {
  if (argv.empty()) return Error{"no command to run"};
  auto pid = read_live_pid(paths.pods_dir() + "/" + pod_uid + "/pid");
  if (!pid) return Error{"the pod is not running"};
  const std::string proc = "/proc/" + std::to_string(*pid);
  int fds[4] = {::open((proc + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC),
                ::open((proc + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC),
                ::open((proc + "/ns/uts").c_str(), O_RDONLY | O_CLOEXEC),
                ::open((proc + "/root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  auto close_all = [&] {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  };
  for (int fd : fds) {
    if (fd < 0) {
      auto e = sys_error("open the namespaces of pid " + std::to_string(*pid));
      close_all();
      return e;
    }
  }
  auto r = run_entered(
      [&] {
        return ::setns(fds[0], CLONE_NEWNET) == 0 && ::setns(fds[1], CLONE_NEWNS) == 0 &&
               ::setns(fds[2], CLONE_NEWUTS) == 0 && ::fchdir(fds[3]) == 0 && ::chroot(".") == 0 &&
               ::chdir("/") == 0;
      },
      std::move(argv), capture);
  close_all();
  return r;
}

Result<ExecResult> exec_in_netns(const std::string& netns, std::vector<std::string> argv,
                                 bool capture) {
  return run_entered([&] { return proc::enter_netns(netns).ok(); }, std::move(argv), capture);
}

Result<pid_t> spawn_in_netns(const std::string& netns, std::vector<std::string> argv,
                             const std::string& log_file) {
  if (argv.empty()) return Error{"no command to run"};
  if (argv[0] == "axon") argv[0] = proc::self_exe();
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) return sys_error("fork");
  if (child == 0) {
    ::setsid();
    int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (!proc::enter_netns(netns).ok()) _exit(126);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  return child;
}

}  // namespace axon::lab
