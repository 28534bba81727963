// Leader election with a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection package does it (and so Cilium's operator): the holder
// renews spec.renewTime; another replica takes the Lease over only when it
// has seen no renewal for leaseDurationSeconds by its own clock (clocks of
// different machines are never compared). A leader renews with one PUT of
// the Lease as it last wrote it (a GET only after a conflict). Every write is a compare-and-swap
// on the Lease's resourceVersion, so two replicas never both win. Works on
// any ClusterStore: a Kubernetes API, or the lab's etcd.
//
//   LeaderElector leader(store, {"kube-system", "axon-operator-resource-lock", id});
//   while (!stop) { if (leader.check()) do_work(); sleep(1s); }
//   leader.release();  // the next replica takes over at once
#pragma once

#include <chrono>
#include <string>

#include "axon/base/result.h"
#include "axon/client/cluster_store.h"

namespace axon::client {

struct LeaseLock {
  std::string ns;        // the Lease's namespace
  std::string name;      // the Lease's name
  std::string identity;  // this replica: holderIdentity
  std::chrono::seconds lease_duration{15};  // client-go's and Cilium's defaults
  std::chrono::seconds renew_deadline{10};  // a leader that cannot renew for this long stops leading
  std::chrono::seconds retry_period{2};     // how often the leader renews
};

class LeaderElector {
 public:
  using Clock = std::chrono::steady_clock;
  LeaderElector(ClusterStore& store, LeaseLock lock) : store_(store), lock_(std::move(lock)) {}

  // True while this replica leads: renews the Lease every retry period,
  // takes it when it is free or its holder stopped renewing. An error when
  // the store failed and this replica does not lead (a leader keeps
  // leading through failures shorter than the renew deadline).
  Result<bool> check(Clock::time_point now = Clock::now());
  bool leading() const { return leading_; }
  // Gives the Lease up (holderIdentity cleared) when this replica holds it.
  void release();

  // A Lease's times: RFC 3339 with microseconds ("2026-12-06T04:47:26.123456Z").
  static std::string micro_time_now();

 private:
  Result<bool> try_acquire_or_renew(Clock::time_point now);
  ClusterStore& store_;
  LeaseLock lock_;
  bool leading_ = false;
  Clock::time_point renewed_{};  // last successful renewal
  // The Lease as last seen, and when (this replica's clock) it last changed.
  std::string observed_holder_, observed_renew_time_;
  Clock::time_point observed_at_{};
  Json written_;  // the Lease as this replica last wrote it: a renewal is one PUT
};

}  // namespace axon::client
