// A real etcd for tests: Debian's etcd-server on a unix socket in a fresh
// temporary directory (no TCP port), stopped and removed by the destructor.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "axon/client/etcd.h"

namespace axon::test {

class EtcdProcess {
 public:
  EtcdProcess() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "axon-etcd-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    dir_ = tmpl;
    pid_ = ::fork();
    if (pid_ == 0) {
      // etcd listens on paths relative to its working directory.
      if (::chdir(dir_.c_str()) != 0) _exit(127);
      int null = ::open("/dev/null", O_WRONLY);
      if (null >= 0) {
        ::dup2(null, 1);
        ::dup2(null, 2);
      }
      ::execlp("etcd", "etcd", "--name", "test", "--data-dir", "data", "--listen-client-urls",
               "unix://etcd.sock:0", "--advertise-client-urls", "unix://etcd.sock:0",
               "--listen-peer-urls", "unix://peer.sock:0", "--initial-advertise-peer-urls",
               "unix://peer.sock:0", "--initial-cluster", "test=unix://peer.sock:0", nullptr);
      _exit(127);
    }
  }
  ~EtcdProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  std::string target() const { return "unix:" + dir_ + "/etcd.sock:0"; }

  std::shared_ptr<client::EtcdClient> connect() const {
    auto c = client::EtcdClient::connect(target(), std::chrono::seconds(20));
    return c ? std::shared_ptr<client::EtcdClient>(std::move(*c)) : nullptr;
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace axon::test
