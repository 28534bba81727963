#include "axon/client/identity_store.h"

namespace axon::client {
namespace {

constexpr const char* kByLabels = "/axon/identities/by-labels/";
constexpr const char* kNextId = "/axon/identities/next-id";

}  // namespace

std::string IdentityStore::canonical(const std::map<std::string, std::string>& labels) {
  std::string s;
  for (const auto& [k, v] : labels) s += (s.empty() ? "" : ";") + k + "=" + v;
  return s;
}

Result<uint32_t> IdentityStore::allocate(const std::map<std::string, std::string>& labels) {
  // No cache: an identity may be garbage-collected and its labels given a
  // new number later; every node must read the same answer from the store.
  const std::string key = canonical(labels);
  const std::string index = std::string(kByLabels) + key;
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto existing = etcd_->get(index);
    if (!existing) return existing.error();
    if (*existing) {
      return static_cast<uint32_t>(std::stoul((*existing)->value));
    }
    // Take the next number (compare-and-swap on the counter), then claim the
    // label set; whoever claims it first wins and the others read theirs.
    auto counter = etcd_->get(kNextId);
    if (!counter) return counter.error();
    uint32_t next =
        *counter ? static_cast<uint32_t>(std::stoul((*counter)->value)) : kFirstClusterIdentity;
    if (next > kLastClusterIdentity) return Error{"no cluster identities left (65,535 reached)"};
    auto bumped =
        etcd_->put_if(kNextId, std::to_string(next + 1), *counter ? (*counter)->mod_revision : 0);
    if (!bumped) return bumped.error();
    if (!*bumped) continue;  // another agent took this number
    auto claimed = etcd_->put_if(index, std::to_string(next), 0);
    if (!claimed) return claimed.error();
    if (!*claimed) continue;  // the label set got a number meanwhile: read it
    Json sec = Json::object();
    for (const auto& [k, v] : labels) sec[k] = v;
    Json obj = {
        {"apiVersion", "cilium.io/v2"},
        {"kind", "CiliumIdentity"},
        {"metadata",
         {{"name", std::to_string(next)}, {"labels", {{"app.kubernetes.io/managed-by", "axon"}}}}},
        {"security-labels", sec}};
    if (auto r = store_.apply(obj); !r) return r.error();
    return next;
  }
  return Error{"identity allocation for {" + key + "} keeps conflicting; try again"};
}

Result<std::optional<std::map<std::string, std::string>>> IdentityStore::labels_of(uint32_t id) {
  auto obj = store_.get(ObjectRef{"cilium.io/v2", "CiliumIdentity", "", std::to_string(id)});
  if (!obj) return obj.error();
  if (!*obj) return std::optional<std::map<std::string, std::string>>();
  std::map<std::string, std::string> labels;
  const Json sec =
      (**obj).contains("security-labels") ? (**obj)["security-labels"] : Json::object();
  for (const auto& [k, v] : sec.items()) labels[k] = v.get<std::string>();
  return std::optional<std::map<std::string, std::string>>(labels);
}

}  // namespace axon::client
