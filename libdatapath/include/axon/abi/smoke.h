/* ABI of the smoke program (libdatapath/bpf/smoke.bpf.c): the smallest TC
 * program axon ships. It proves the toolchain end to end (clang -target bpf,
 * skeleton embedding, libbpf load, BPF_PROG_TEST_RUN) and backs the "can
 * this machine run axon's datapath?" preflight. */
#ifndef AXON_ABI_SMOKE_H
#define AXON_ABI_SMOKE_H

#include "axon/abi/common.h"

/* Index into the axon_smoke_counters array map: packets seen per class. */
enum axon_smoke_counter {
  AXON_SMOKE_IPV4 = 0,      /* Ethernet + complete IPv4 header: TC_ACT_OK */
  AXON_SMOKE_IPV6 = 1,      /* Ethernet with ETH_P_IPV6: TC_ACT_OK */
  AXON_SMOKE_OTHER = 2,     /* any other EtherType (ARP, ...): TC_ACT_OK */
  AXON_SMOKE_TRUNCATED = 3, /* IPv4 header cut short or bad IHL: TC_ACT_SHOT */
  AXON_SMOKE_NR_COUNTERS = 4,
};

#endif /* AXON_ABI_SMOKE_H */
