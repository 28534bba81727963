// The kube-apiserver the tests of this folder share (main.cpp starts it).
#pragma once

#include "kube_apiserver.h"

namespace axon::test {
const KubeApiServer& kube_server();
}  // namespace axon::test
