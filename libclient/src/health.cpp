#include "axon/client/health.h"

#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"

namespace axon::client {

std::string to_string(ServingStatus s) {
  switch (s) {
    case ServingStatus::serving:
      return "SERVING";
    case ServingStatus::not_serving:
      return "NOT_SERVING";
    case ServingStatus::service_unknown:
      return "SERVICE_UNKNOWN";
    case ServingStatus::unknown:
      break;
  }
  return "UNKNOWN";
}

Result<ServingStatus> check_health(const std::string& target, const std::string& service,
                                   std::chrono::milliseconds timeout) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status st = stub->Check(&ctx, req, &resp);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) return ServingStatus::service_unknown;
  if (!st.ok()) {
    return Error{"health check of " + target + (service.empty() ? "" : " (" + service + ")") +
                 " failed: " + st.error_message()};
  }
  switch (resp.status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      return ServingStatus::serving;
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return ServingStatus::not_serving;
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return ServingStatus::service_unknown;
    default:
      return ServingStatus::unknown;
  }
}

}  // namespace axon::client
