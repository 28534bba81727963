#include "axon/base/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "axon/base/fd.h"
#include "axon/base/strings.h"

namespace axon::proc {

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "axon";
  buf[n] = '\0';
  // Rebuilt or upgraded under a running process: the path now holds the
  // new binary, which is the one to run.
  std::string path = buf;
  const std::string deleted = " (deleted)";
  if (path.ends_with(deleted)) path.resize(path.size() - deleted.size());
  return path;
}

Result<std::string> run(const std::vector<std::string>& argv, const std::string& stdin_data) {
  int out[2], err[2], in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) {
    return sys_error("pipe");
  }
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  ::close(in[0]);
  if (!stdin_data.empty()) {
    ssize_t off = 0;
    while (off < static_cast<ssize_t>(stdin_data.size())) {
      ssize_t w =
          ::write(in[1], stdin_data.data() + off, stdin_data.size() - static_cast<size_t>(off));
      if (w <= 0) break;
      off += w;
    }
  }
  ::close(in[1]);
  std::string sout, serr;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? sout : serr).append(buf, static_cast<size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!serr.empty() && (serr.back() == '\n' || serr.back() == ' ')) serr.pop_back();
    std::string code = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                         : "signal " + std::to_string(WTERMSIG(status));
    return Error{join(argv, " ") + " failed (" + code + ")" + (serr.empty() ? "" : ": " + serr)};
  }
  return sout;
}

Result<std::string> ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

Status enter_netns(const std::string& name) {
  Fd fd(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("open network namespace " + name);
  if (::setns(fd.get(), CLONE_NEWNET) != 0) return sys_error("enter network namespace " + name);
  return {};
}

}  // namespace axon::proc
