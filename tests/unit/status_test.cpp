// axon status against a lab store: the summary, --wait's timeout and exit
// code naming what is not ready, and the JSON form.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "test_lab.h"

using axon::client::Json;
using axon::test::TestLab;

namespace {

Json workload(const std::string& kind, const std::string& name, int desired, int ready) {
  Json o = {{"apiVersion", "apps/v1"},
            {"kind", kind},
            {"metadata", {{"name", name}, {"namespace", "kube-system"}}},
            {"spec", {{"replicas", desired}}}};
  if (kind == "DaemonSet") {
    o["status"] = {
        {"desiredNumberScheduled", desired}, {"numberReady", ready}, {"numberAvailable", ready}};
  } else {
    o["status"] = {{"readyReplicas", ready}, {"availableReplicas", ready}};
  }
  return o;
}

}  // namespace

TEST_CASE("status: not installed is an error naming the fix; --wait times out with exit 1") {
  TestLab lab;
  REQUIRE(lab.ready());
  auto r = lab.axon({"status"});
  CHECK(r.code == 0);  // as cilium status: listing errors is not a failure without --wait
  CHECK(r.out.find("DaemonSet kube-system/axon-agent not found: axon is not installed") !=
        std::string::npos);
  auto w = lab.axon({"status", "--wait", "--wait-duration", "1s"});
  CHECK(w.code == 1);
  CHECK(w.err.find("Error: timed out after") != std::string::npos);
  CHECK(w.err.find("axon is not installed") != std::string::npos);
}

TEST_CASE("status: ready components are OK; an agent short names what is not ready") {
  TestLab lab;
  REQUIRE(lab.ready());
  REQUIRE(lab.store().apply(workload("DaemonSet", "axon-agent", 3, 3)).ok());
  REQUIRE(lab.store().apply(workload("Deployment", "axon-operator", 2, 2)).ok());
  auto r = lab.axon({"status", "--wait", "--wait-duration", "2s"});
  CHECK(r.code == 0);
  CHECK(r.out.find("Axon:           OK") != std::string::npos);
  CHECK(r.out.find("Hubble Relay:   disabled") != std::string::npos);
  CHECK(r.out.find("Desired: 3, Ready: 3/3, Available: 3/3") != std::string::npos);

  REQUIRE(lab.store().apply(workload("DaemonSet", "axon-agent", 3, 2)).ok());
  auto bad = lab.axon({"status", "--wait", "--wait-duration", "1s"});
  CHECK(bad.code == 1);
  CHECK(bad.err.find("Axon (DaemonSet kube-system/axon-agent): 2/3 ready") != std::string::npos);

  // An operator with one of two replicas up still works: a warning, not an error.
  REQUIRE(lab.store().apply(workload("DaemonSet", "axon-agent", 3, 3)).ok());
  REQUIRE(lab.store().apply(workload("Deployment", "axon-operator", 2, 1)).ok());
  CHECK(lab.axon({"status", "--wait", "--wait-duration", "1s", "--ignore-warnings"}).code == 0);
  CHECK(lab.axon({"status", "--wait", "--wait-duration", "1s"}).code == 1);

  auto json = lab.axon({"status", "-o", "json"});
  REQUIRE(json.code == 0);
  auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["ready"] == true);
  CHECK(doc["warnings"].size() == 1);
  CHECK(doc["workloads"][0]["component"] == "Axon");
  CHECK(doc["workloads"][0]["state"] == "OK");
}
