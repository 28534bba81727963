// The tests `axon connectivity test` runs, in order, with cilium-cli's
// names: each is a name, the policies it applies and the actions it takes
// with what each should see (catalogue.cpp).
#pragma once

#include "axon/connectivity/suite.h"

namespace axon::connectivity {

// Runs every test of the catalogue on `s` (s.run skips the unselected).
void run_catalogue(Suite& s);

}  // namespace axon::connectivity
