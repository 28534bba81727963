// The web UI's server (`axon ui`, Hubble UI's job): the page compiled into
// the binary (libhubble/ui/: index.html, app.js, app.css), and the JSON API
// it polls, fed by one follow stream from the relay (reconnected when it
// breaks) into a FlowCache (ui.h):
//
//   GET /                      the page
//   GET /api/namespaces        ["default", "production", ...]
//   GET /api/flows?namespace=NS&after=SEQ&limit=N&verdict=V
//   GET /api/map?namespace=NS  {"nodes": [...], "edges": [...]}
//   GET /api/status            relay connection, flows seen/lost/cached
//   GET /healthz               "ok" (liveness)
#pragma once

#include <atomic>
#include <string>

#include <optional>

#include "axon/base/result.h"
#include "axon/client/connect.h"
#include "axon/hubble/ui.h"

namespace axon::hubble::ui {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 8081;
  std::string relay;   // the relay's gRPC target
  // The store, for quiet namespaces; none: the flows' namespaces only.
  std::optional<client::StoreTarget> store;
  size_t buffer = 10000;  // flows kept for the page (the newest)
};

// Serves until `stop` is set. An error when the address cannot be bound.
Status serve(const ServerOptions& options, const std::atomic<bool>& stop);

}  // namespace axon::hubble::ui
