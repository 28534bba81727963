// Where the lab's flows are: the relay's socket (what `axon observe` reads
// when no --server is given) and each node agent's Hubble socket
// (`axon observe --node NAME`).
#pragma once

#include <memory>
#include <string>

#include "axon/base/result.h"
#include "axon/hubble/client.h"

namespace axon::lab {

// How `axon observe` picks its server when neither --server nor --node is
// given: the relay of the lab that is up (<state-dir>/<lab>/relay.sock),
// else Hubble's default, localhost:4245 when no lab is up. Several labs and
// no --lab is an error saying how to pick one.
Result<std::string> default_flow_server(const std::string& state_dir, const std::string& lab);

// The lab's resolver: a node's agent at its Hubble socket
// (LabPaths::node_hubble_socket); an unknown node is an error listing the
// lab's nodes.
std::unique_ptr<hubble::NodeResolver> lab_node_resolver(const std::string& state_dir,
                                                        const std::string& lab);

}  // namespace axon::lab
