#include "fixture.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "axon/datapath/bpffs.h"

namespace axon::test {

void remove_stale_test_pins() {
  DIR* d = opendir(std::string(datapath::kAxonPinRoot).c_str());
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* ent = readdir(d)) {
    int pid = 0, n = 0;
    char tail = 0;
    if (std::sscanf(ent->d_name, "test-%d-%d%c", &pid, &n, &tail) != 2) continue;
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;  // still running
    stale.push_back(std::string(datapath::kAxonPinRoot) + "/" + ent->d_name);
  }
  closedir(d);
  for (const auto& dir : stale) {
    if (auto s = datapath::Datapath::remove_pins(dir); !s) {
      MESSAGE("could not remove stale pins " << dir << ": " << s.error().str());
    }
  }
  // The root itself, when nothing else is left in it.
  rmdir(std::string(datapath::kAxonPinRoot).c_str());
}

std::string unique_test_pin_dir() {
  static std::atomic<int> n{0};
  return std::string(datapath::kAxonPinRoot) + "/test-" + std::to_string(getpid()) + "-" +
         std::to_string(n++);
}

TestDatapath::TestDatapath(datapath::DatapathConfig config) {
  static bool cleaned = [] {
    remove_stale_test_pins();
    return true;
  }();
  (void)cleaned;
  dir_ = unique_test_pin_dir();
  config.pin_dir = dir_;
  auto dp = datapath::Datapath::open(config);
  if (!dp) {
    (void)datapath::Datapath::remove_pins(dir_);
    FAIL("open datapath: " << dp.error().str());
  }
  dp_.emplace(std::move(*dp));
}

TestDatapath::~TestDatapath() {
  dp_.reset();
  if (auto s = datapath::Datapath::remove_pins(dir_); !s) {
    std::fprintf(stderr, "remove pins %s: %s\n", dir_.c_str(), s.error().str().c_str());
  }
  rmdir(std::string(datapath::kAxonPinRoot).c_str());  // only if empty
}

datapath::TestRunResult run(const bpf_program* prog, const std::vector<uint8_t>& packet) {
  auto r = datapath::prog_test_run(prog, packet);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().str()));
  return std::move(*r);
}

std::vector<datapath::Event> drain(datapath::EventReader& reader) {
  std::vector<datapath::Event> out;
  auto n = reader.poll(std::chrono::milliseconds(0),
                       [&](const datapath::Event& e) { out.push_back(e); });
  REQUIRE_MESSAGE(n.ok(), (n.ok() ? "" : n.error().str()));
  return out;
}

}  // namespace axon::test
