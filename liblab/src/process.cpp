#include "axon/lab/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "axon/base/fd.h"
#include "axon/base/process.h"
#include "axon/base/strings.h"

namespace axon::lab {

Result<pid_t> spawn_daemon(const DaemonSpec& spec) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return sys_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    ::close(ready[0]);
    auto fail = [&](const std::string& what) {
      std::string msg = what + ": " + std::strerror(errno);
      (void)!::write(ready[1], msg.data(), msg.size());
      _exit(127);
    };
    ::setsid();
    int log = ::open(spec.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) fail("open log " + spec.log_file);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    if (!spec.netns.empty()) {
      if (auto st = proc::enter_netns(spec.netns); !st) fail(st.error().message);
    }
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) fail("chdir " + spec.cwd);
    for (const auto& [k, v] : spec.env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<std::string> argv = spec.argv;
    if (!argv.empty() && argv[0] == "axon") argv[0] = proc::self_exe();
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    fail("exec " + argv[0]);
  }
  ::close(ready[1]);
  // The pipe closes on a successful exec (CLOEXEC) or carries the error.
  std::string err;
  char buf[512];
  ssize_t n;
  while ((n = ::read(ready[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<size_t>(n));
  ::close(ready[0]);
  if (!err.empty()) {
    ::waitpid(pid, nullptr, 0);
    return Error{"start " + join(spec.argv, " ") + ": " + err};
  }
  if (!spec.pid_file.empty()) write_pid_file(spec.pid_file, pid);
  return pid;
}

bool process_matches(pid_t pid, const std::string& marker) {
  if (pid <= 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  if (!in) return false;
  std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (auto& c : cmd) {
    if (c == '\0') c = ' ';
  }
  // A zombie has an empty command line: not running.
  return !cmd.empty() && cmd.find(marker) != std::string::npos;
}

uint64_t process_start_time(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // Fields after the command: state is field 3; starttime is field 22.
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 3 && field == "Z") return 0;  // a zombie is gone already
    if (i == 22) return std::stoull(field);
  }
  return 0;
}

void write_pid_file(const std::string& path, pid_t pid) {
  std::ofstream(path, std::ios::trunc) << pid << " " << process_start_time(pid) << "\n";
}

std::optional<pid_t> read_live_pid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  uint64_t start = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  in >> start;
  uint64_t now = process_start_time(pid);
  if (now == 0 || (start != 0 && now != start)) return std::nullopt;
  return pid;
}

std::optional<pid_t> running_pid(const std::string& pid_file, const std::string& marker) {
  auto pid = read_live_pid(pid_file);
  if (!pid || !process_matches(*pid, marker)) return std::nullopt;
  return pid;
}

void stop_process(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0 || ::kill(pid, SIGTERM) != 0) return;
  const auto until = std::chrono::steady_clock::now() + grace;
  for (;;) {
    // Reap it if it is our child; otherwise watch /proc.
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && ::kill(pid, 0) != 0)) return;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return;
    auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z')
      return;  // zombie
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace axon::lab
