// How axon meets libbpf: its version, and its log routed into axon's log.
#pragma once

#include <string>

#include "axon/base/result.h"

namespace axon::datapath {

// "1.1" for the libbpf axon runs with.
std::string libbpf_version();

// Sends libbpf's messages to axon::log: warnings as warnings, info and
// debug (verifier logs among them) only with -vv / -vvv. Idempotent.
void route_libbpf_logs();

// Can this machine run axon's datapath? Loads the embedded smoke program and
// runs it on one packet. An error says why not (e.g. missing CAP_BPF).
Status probe_bpf();

}  // namespace axon::datapath
