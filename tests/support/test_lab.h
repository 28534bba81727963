// A lab as commands find it, without its network: a temporary --state-dir
// with <dir>/<name>/lab.json and a real etcd answering on the lab's socket
// (lab::LabPaths). Commands that only use the cluster store (apply, get,
// delete) run against it in-process. The destructor stops etcd and removes
// the directory.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "axon/client/etcd_store.h"
#include "axon/lab/paths.h"
#include "cli_runner.h"
#include "etcd_process.h"

namespace axon::test {

class TestLab {
 public:
  explicit TestLab(const std::string& name = "test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "axon-lab-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    paths_ = lab::LabPaths{tmpl, name};
    std::filesystem::create_directories(paths_.dir());
    std::ofstream(paths_.lab_file()) << "{\"name\": \"" << name << "\"}\n";
    etcd_ = std::make_unique<EtcdProcess>(paths_.etcd_dir());
    client_ = etcd_->connect();
    if (client_) store_ = std::make_unique<client::EtcdStore>(client_, "test lab");
  }
  ~TestLab() {
    store_.reset();
    client_.reset();
    etcd_.reset();
    if (!paths_.state_dir.empty()) std::filesystem::remove_all(paths_.state_dir);
  }
  TestLab(const TestLab&) = delete;
  TestLab& operator=(const TestLab&) = delete;

  bool ready() const { return store_ != nullptr; }
  const std::string& state_dir() const { return paths_.state_dir; }
  client::EtcdStore& store() { return *store_; }
  std::shared_ptr<client::EtcdClient> etcd() { return client_; }

  // Forgets every object (the same etcd serves several tests).
  void clear() { (void)client_->remove_prefix(client::kRegistryPrefix); }

  // `axon --state-dir <dir> ARGS...`, in-process; `input` is standard input.
  CliRun axon(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--state-dir", paths_.state_dir});
    return run_axon(std::move(args), {}, input);
  }

 private:
  lab::LabPaths paths_;
  std::unique_ptr<EtcdProcess> etcd_;
  std::shared_ptr<client::EtcdClient> client_;
  std::unique_ptr<client::EtcdStore> store_;
};

}  // namespace axon::test
