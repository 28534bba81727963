// A real kube-apiserver (Kubernetes 1.26) and its etcd for tests, started
// with ../shared/tools/kubernetes/start-kube (AXON_KUBE_TOOLS overrides the
// folder) on free loopback ports, stopped with stop-kube when the object
// goes. available() is false when the tools or etcd are missing: the test
// program then reports itself skipped (exit 77), never passed.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace axon::test {

class KubeApiServer {
 public:
  // `extra_flags` go to kube-apiserver.
  KubeApiServer(const std::string& default_tools, const std::string& extra_flags = "") {
    const char* env = std::getenv("AXON_KUBE_TOOLS");
    tools_ = env != nullptr && *env != '\0' ? env : default_tools;
    if (!std::filesystem::exists(tools_ + "/start-kube") ||
        std::system("command -v etcd >/dev/null 2>&1") != 0) {
      why_ = "no kube-apiserver in " + tools_ + " (AXON_KUBE_TOOLS), or no etcd";
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "axon-kube-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      why_ = "mkdtemp failed";
      return;
    }
    run_dir_ = tmpl;
    etcd_port_ = free_port();
    const std::string cmd = "RUN_DIR=" + run_dir_ + " ETCD_PORT=" + std::to_string(etcd_port_) +
                            " ETCD_PEER_PORT=" + std::to_string(free_port()) +
                            " KUBE_PORT=" + std::to_string(free_port()) + " flock " +
                            std::filesystem::temp_directory_path().string() +
                            "/axon-kube-start.lock " + tools_ +
                            "/start-kube --allow-privileged=true " + extra_flags + " 2>" + run_dir_ +
                            "/start.err";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return;
    std::array<char, 512> buf{};
    std::string out;
    while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
    const int rc = ::pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    if (rc != 0 || out.empty()) {
      why_ = "start-kube failed (see " + run_dir_ + "/start.err)";
      failed_ = true;
      return;
    }
    kubeconfig_ = out;
  }
  ~KubeApiServer() {
    if (run_dir_.empty()) return;
    const std::string cmd = "RUN_DIR=" + run_dir_ + " " + tools_ + "/stop-kube >/dev/null 2>&1";
    (void)std::system(cmd.c_str());
    if (!failed_) std::filesystem::remove_all(run_dir_);
  }
  KubeApiServer(const KubeApiServer&) = delete;
  KubeApiServer& operator=(const KubeApiServer&) = delete;

  bool available() const { return !kubeconfig_.empty(); }
  bool failed() const { return failed_; }  // the tools are there but did not start
  const std::string& why() const { return why_; }
  const std::string& kubeconfig() const { return kubeconfig_; }
  // The API server's etcd, as a gRPC target ("127.0.0.1:PORT").
  std::string etcd_target() const { return "127.0.0.1:" + std::to_string(etcd_port_); }

 private:
  static int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    ::close(s);
    return port;
  }

  std::string tools_, run_dir_, kubeconfig_, why_;
  int etcd_port_ = 0;
  bool failed_ = false;
};

}  // namespace axon::test
