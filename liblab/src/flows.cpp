#include "axon/lab/flows.h"

#include <algorithm>
#include <filesystem>

#include "axon/base/strings.h"
#include "axon/lab/paths.h"

namespace axon::lab {
namespace {

class LabNodeResolver final : public hubble::NodeResolver {
 public:
  LabNodeResolver(std::string state_dir, std::string lab)
      : state_dir_(std::move(state_dir)), lab_(std::move(lab)) {}

  Result<std::string> observer_target(const std::string& node) const override {
    auto paths = find_lab(state_dir_, lab_);
    if (!paths) return paths.error();
    if (!std::filesystem::is_directory(paths->node_root(node))) {
      std::vector<std::string> nodes;
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(paths->dir() + "/nodes", ec))
        nodes.push_back(e.path().filename().string());
      std::sort(nodes.begin(), nodes.end());
      return Error{"--node " + node + ": lab " + paths->name + " has no such node (nodes: " +
                   join(nodes, ", ") + ")"};
    }
    return "unix://" + paths->node_hubble_socket(node);
  }

 private:
  std::string state_dir_, lab_;
};

}  // namespace

Result<std::string> default_flow_server(const std::string& state_dir, const std::string& lab) {
  if (lab.empty() && list_labs(state_dir).empty()) return std::string("localhost:4245");
  auto paths = find_lab(state_dir, lab);
  if (!paths) return paths.error();
  return "unix://" + paths->relay_socket();
}

std::unique_ptr<hubble::NodeResolver> lab_node_resolver(const std::string& state_dir,
                                                const std::string& lab) {
  return std::make_unique<LabNodeResolver>(state_dir, lab);
}

}  // namespace axon::lab
