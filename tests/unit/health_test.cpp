// The health client against a real gRPC server on a unix socket, answering
// with gRPC's own health service: the same exchange Hubble clients make.
#include "axon/client/health.h"

#include <doctest/doctest.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <cstdlib>
#include <filesystem>

using namespace std::chrono_literals;
using axon::client::check_health;
using axon::client::ServingStatus;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "axon-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("health of a gRPC server on a unix socket") {
  TempDir dir;
  const std::string target = "unix://" + (dir.path / "health.sock").string();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(target, grpc::InsecureServerCredentials());
  // gRPC will not start a server whose only service is the built-in health
  // service; an agent always has its own. Any callback service will do here.
  grpc::CallbackGenericService generic;
  builder.RegisterCallbackGenericService(&generic);
  auto server = builder.BuildAndStart();
  REQUIRE(server != nullptr);
  auto* health = server->GetHealthCheckService();
  REQUIRE(health != nullptr);

  auto whole = check_health(target, "", 2s);
  REQUIRE(whole.ok());
  CHECK(*whole == ServingStatus::serving);

  health->SetServingStatus("hubble.server.Observer", true);
  auto observer = check_health(target, "hubble.server.Observer", 2s);
  REQUIRE(observer.ok());
  CHECK(*observer == ServingStatus::serving);

  health->SetServingStatus("hubble.server.Observer", false);
  CHECK(*check_health(target, "hubble.server.Observer", 2s) == ServingStatus::not_serving);

  CHECK(*check_health(target, "no.such.Service", 2s) == ServingStatus::service_unknown);

  server->Shutdown();
  server->Wait();
}

TEST_CASE("no server is an error naming the target") {
  TempDir dir;
  const std::string target = "unix://" + (dir.path / "nobody.sock").string();
  auto r = check_health(target, "", 300ms);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(target) != std::string::npos);
}
