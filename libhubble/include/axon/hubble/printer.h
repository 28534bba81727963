// Printing GetFlows responses as `hubble observe` does: compact, dict, json
// (= jsonpb), jsonpb and table, in Hubble's layouts (HV hubble/pkg/printer):
//
//   compact  Dec  1 12:00:00.123 [node]: SRC (ID) -> DST (ID) TYPE VERDICT (SUMMARY)
//   dict     right-aligned KEY: value lines, records separated by 12 dashes
//   table    TIMESTAMP [NODE] SOURCE DESTINATION TYPE VERDICT SUMMARY, aligned
//            when finish() flushes it
//   jsonpb   one GetFlowsResponse per line, proto field names
//
// Flows and lost events go to `out`; relay node-status events to `err`
// (only unavailable/error ones unless `debug`). Text taken from flows is
// stripped of control characters, so a pod name cannot drive the terminal.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "observer/observer.pb.h"

namespace axon::hubble {

enum class OutputFormat { compact, dict, json, jsonpb, table };

struct PrinterOptions {
  OutputFormat format = OutputFormat::compact;
  std::string time_format = "StampMilli";
  bool color = false;           // compact and dict only
  bool node_name = false;       // --print-node-name
  bool ip_translation = true;   // names instead of addresses
  bool debug = false;           // also print connected-node events
  bool legacy_json = false;     // -o json prints the Flow alone (HUBBLE_COMPAT=legacy-json-output)
};

class FlowPrinter {
 public:
  FlowPrinter(PrinterOptions options, std::ostream& out, std::ostream& err);

  void write(const observer::GetFlowsResponse& r);
  // Flushes buffered output (the table's aligned rows).
  void finish();

 private:
  void write_flow(const observer::GetFlowsResponse& r);
  void write_lost(const observer::GetFlowsResponse& r);
  void write_node_status(const observer::GetFlowsResponse& r);
  void add_table_header();  // once, before the first row
  std::string hostname(const std::string& ip, const std::string& port, const std::string& ns,
                       const std::string& pod, const std::string& svc,
                       const google::protobuf::RepeatedPtrField<std::string>& names) const;
  std::pair<std::string, std::string> hostnames(const flow::Flow& f) const;
  std::string identity(uint32_t id) const;
  std::string verdict(const flow::Flow& f) const;
  std::string time(const google::protobuf::Timestamp& ts, bool present) const;
  std::string paint(const char* code, const std::string& s) const;

  PrinterOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  size_t line_ = 0;
  std::vector<std::vector<std::string>> table_;
};

// The TYPE column: "to-endpoint", "Policy denied", "policy-verdict:L3-L4
// INGRESS", "http-request", "dns-response proxy", ...
std::string flow_type_text(const flow::Flow& f);
// Drop reason texts for drop events: axon's table (Cilium's texts), else the
// number.
std::string drop_reason_text(uint32_t code);
// Protobuf JSON with proto field names, one line, as Hubble's -o jsonpb.
std::string to_json(const google::protobuf::Message& m);

}  // namespace axon::hubble
