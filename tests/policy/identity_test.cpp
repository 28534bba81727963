// Identities (semantics §1.9) and labels (§1.5).
#include "helpers.h"

using namespace axon;
using namespace axon::policy;
using namespace axon::policy::test;

TEST_CASE("reserved identities carry Cilium's numbers") {
  CHECK(reserved::host == 1);
  CHECK(reserved::world == 2);
  CHECK(reserved::unmanaged == 3);
  CHECK(reserved::health == 4);
  CHECK(reserved::init == 5);
  CHECK(reserved::remote_node == 6);
  CHECK(reserved::kube_apiserver == 7);
  CHECK(reserved::ingress == 8);
  CHECK(reserved::world_ipv4 == 9);
  CHECK(reserved::world_ipv6 == 10);
  CHECK(reserved_name(6) == "remote-node");
  CHECK(reserved_identity(*parse_labels("reserved:world", "k8s")) == reserved::world);
  CHECK(reserved_identity(*parse_labels("reserved:kube-apiserver", "k8s")) ==
        reserved::kube_apiserver);
  CHECK_FALSE(reserved_identity(*parse_labels("k8s:app=web", "k8s")).has_value());
  CHECK(reserved_identities().size() == 10);
  CHECK(kMinClusterIdentity == 256);
  CHECK(kLocalScopeBit == 16777216);
}

TEST_CASE("identity labels: relevant pod labels, namespace, namespace labels, service account") {
  PodLabels pod;
  pod.ns = "production";
  pod.labels = {{"app", "api"},
                {"pod-template-hash", "7d9f8"},
                {"controller-revision-hash", "x"},
                {"app.kubernetes.io/name", "api"},
                {"statefulset.kubernetes.io/pod-name", "api-0"},
                {"io.kubernetes.container.name", "c"}};
  pod.namespace_labels = {{"team", "payments"}};
  pod.service_account = "api";
  auto l = identity_labels(pod);
  CHECK(to_string(l, ",") ==
        "k8s:app=api,k8s:app.kubernetes.io/name=api,"
        "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=production,"
        "k8s:io.cilium.k8s.namespace.labels.team=payments,k8s:io.cilium.k8s.policy.cluster=default,"
        "k8s:io.cilium.k8s.policy.serviceaccount=api,k8s:io.kubernetes.pod.namespace=production");

  // Same relevant labels, same identity: a new pod-template-hash does not matter.
  PodLabels next = pod;
  next.labels["pod-template-hash"] = "other";
  InMemoryIdentityAllocator alloc;
  auto a = alloc.allocate(identity_labels(pod));
  auto b = alloc.allocate(identity_labels(next));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->id == b->id);
  CHECK(a->id == 256);
}

TEST_CASE("the in-memory allocator: cluster range, cluster-id shift, CIDRs node-local, refcounts") {
  InMemoryIdentityAllocator alloc;
  auto web = alloc.allocate(*parse_labels("k8s:app=web", "k8s"));
  auto db = alloc.allocate(*parse_labels("k8s:app=db", "k8s"));
  REQUIRE(web.ok());
  REQUIRE(db.ok());
  CHECK(web->id == 256);
  CHECK(db->id == 257);
  CHECK(alloc.allocate(*parse_labels("k8s:app=web", "k8s"))->id == 256);  // 2 references
  auto world = alloc.allocate(reserved_labels(reserved::world));
  CHECK(world->id == reserved::world);
  auto cidr = alloc.allocate(cidr_labels(parse_prefix("10.0.0.0/8")->prefix));
  REQUIRE(cidr.ok());
  CHECK(cidr->id == kLocalScopeBit + 1);
  CHECK(is_local_scope(cidr->id));
  CHECK(cidr_of(cidr->labels).has_value());
  CHECK(cidr->labels.has("reserved", "world"));

  CHECK(alloc.release(256).ok());
  CHECK(alloc.find(256).has_value());  // one reference left
  CHECK(alloc.release(256).ok());
  CHECK_FALSE(alloc.find(256).has_value());
  CHECK_FALSE(alloc.release(256).ok());
  CHECK(alloc.find(*parse_labels("k8s:app=db", "k8s"))->id == 257);
  CHECK(alloc.list().size() == 2);  // db and the CIDR

  InMemoryIdentityAllocator cluster3(3);
  CHECK(cluster3.allocate(*parse_labels("k8s:app=web", "k8s"))->id == (3u << 16) + 256);

  CHECK_FALSE(alloc.allocate(LabelSet{}).ok());
}

TEST_CASE("the cluster range runs out with an error, and released numbers are reused") {
  InMemoryIdentityAllocator alloc;
  axon::Result<Identity> last = axon::Error{"none"};
  for (uint32_t i = kMinClusterIdentity; i <= kMaxClusterIdentity; ++i) {
    last = alloc.allocate(*parse_labels("k8s:n=" + std::to_string(i), "k8s"));
    REQUIRE(last.ok());
  }
  CHECK(last->id == kMaxClusterIdentity);
  auto over = alloc.allocate(*parse_labels("k8s:n=over", "k8s"));
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().message.find("exhausted") != std::string::npos);
  CHECK(alloc.release(300).ok());
  auto again = alloc.allocate(*parse_labels("k8s:n=again", "k8s"));
  REQUIRE(again.ok());
  CHECK(again->id == 300);
}

TEST_CASE("labels as Cilium writes them") {
  auto l = parse_labels("k8s:role=frontend,k8s:io.kubernetes.pod.namespace=production", "k8s");
  REQUIRE(l.ok());
  CHECK(l->size() == 2);
  CHECK(l->first("any", "role")->value == "frontend");
  CHECK(parse_labels("role=api", "k8s")->first("k8s", "role") != nullptr);  // default source
  CHECK(parse_label("cidr:10.0.0.0/8", "k8s")->key == "10.0.0.0/8");
  auto bad = parse_labels("k9s:role=x", "k8s");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("unknown source \"k9s\"") != std::string::npos);
  CHECK_FALSE(parse_labels("any:role=x", "k8s").ok());  // a selector source, not an endpoint's
  CHECK(with_namespace_name_label(*l).has(
      "k8s", "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name"));
}
