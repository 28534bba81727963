#include "axon/client/leader_election.h"

#include <sys/time.h>

#include <ctime>

#include "axon/base/log.h"

namespace axon::client {

std::string LeaderElector::micro_time_now() {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  tm utc{};
  ::gmtime_r(&tv.tv_sec, &utc);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%06ldZ", buf, static_cast<long>(tv.tv_usec));
  return out;
}

Result<bool> LeaderElector::check(Clock::time_point now) {
  if (leading_ && now - renewed_ < lock_.retry_period) return true;
  auto r = try_acquire_or_renew(now);
  if (r && *r) {
    if (!leading_) log::info("{} leads (Lease {}/{})", lock_.identity, lock_.ns, lock_.name);
    leading_ = true;
    renewed_ = now;
    return true;
  }
  if (leading_ && (!r || !*r)) {
    // A leader rides out store failures up to the renew deadline; a Lease
    // someone else holds now ends its lead at once.
    if (!r && now - renewed_ < lock_.renew_deadline) return true;
    log::warn("{} lost the lead (Lease {}/{}): {}", lock_.identity, lock_.ns, lock_.name,
              r ? "another replica holds it" : r.error().str());
    leading_ = false;
  }
  return r;
}

Result<bool> LeaderElector::try_acquire_or_renew(Clock::time_point now) {
  const ObjectRef ref{"coordination.k8s.io/v1", "Lease", lock_.ns, lock_.name};
  const std::string stamp = micro_time_now();
  if (leading_ && written_.is_object()) {
    // A renewal: the Lease as this replica last wrote it, at its version;
    // a conflict (someone else wrote it) falls through to reading it.
    Json renewal = written_;
    renewal["spec"]["renewTime"] = stamp;
    auto replaced = store_.replace(renewal);
    if (!replaced) return replaced.error();
    if (*replaced) {
      written_ = std::move(**replaced);
      observed_renew_time_ = stamp;
      observed_at_ = now;
      return true;
    }
    written_ = nullptr;
  }
  auto live = store_.get(ref);
  if (!live) return live.error();
  if (!*live) {
    Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", lock_.name}, {"namespace", lock_.ns}}},
                  {"spec",
                   {{"holderIdentity", lock_.identity},
                    {"leaseDurationSeconds", lock_.lease_duration.count()},
                    {"acquireTime", stamp},
                    {"renewTime", stamp},
                    {"leaseTransitions", 0}}}};
    auto created = store_.create(lease);
    if (!created) return created.error();
    written_ = created->has_value() ? std::move(**created) : Json();
    return created->has_value();
  }
  Json lease = std::move(**live);
  Json& spec = lease["spec"];
  if (!spec.is_object()) spec = Json::object();
  const std::string holder = spec.value("holderIdentity", "");
  const std::string renew_time = spec.value("renewTime", "");
  if (holder != observed_holder_ || renew_time != observed_renew_time_) {
    observed_holder_ = holder;
    observed_renew_time_ = renew_time;
    observed_at_ = now;
  }
  const auto duration = std::chrono::seconds(
      spec.value("leaseDurationSeconds", static_cast<int64_t>(lock_.lease_duration.count())));
  if (!holder.empty() && holder != lock_.identity && now - observed_at_ < duration) return false;
  if (holder != lock_.identity) {
    spec["acquireTime"] = stamp;
    spec["leaseTransitions"] = spec.value("leaseTransitions", int64_t{0}) + (holder.empty() ? 0 : 1);
  }
  spec["holderIdentity"] = lock_.identity;
  spec["leaseDurationSeconds"] = lock_.lease_duration.count();
  spec["renewTime"] = stamp;
  auto replaced = store_.replace(lease);
  if (!replaced) return replaced.error();
  if (*replaced) {
    observed_holder_ = lock_.identity;
    observed_renew_time_ = stamp;
    observed_at_ = now;
    written_ = std::move(**replaced);
  }
  return replaced->has_value();
}

void LeaderElector::release() {
  if (!leading_) return;
  leading_ = false;
  written_ = nullptr;
  const ObjectRef ref{"coordination.k8s.io/v1", "Lease", lock_.ns, lock_.name};
  auto live = store_.get(ref);
  if (!live || !*live) return;
  Json lease = std::move(**live);
  if (lease["spec"].value("holderIdentity", "") != lock_.identity) return;
  // As client-go's ReleaseOnCancel: no holder, a one-second duration.
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = micro_time_now();
  if (auto r = store_.replace(lease); !r) log::warn("releasing the Lease: {}", r.error().str());
}

}  // namespace axon::client
