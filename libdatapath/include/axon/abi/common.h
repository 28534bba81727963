/* Shared by BPF C (clang -target bpf) and C++ (g++): keep it plain C with
 * fixed-width kernel types, explicit padding and size checks, so both
 * compilers agree on every layout without a mirrored copy. */
#ifndef AXON_ABI_COMMON_H
#define AXON_ABI_COMMON_H

#include <linux/types.h>

#ifdef __cplusplus
#define AXON_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define AXON_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Direction seen from the endpoint; the numbers are Hubble's TrafficDirection. */
enum axon_direction {
	AXON_DIR_INGRESS = 1, /* into the pod: to-container */
	AXON_DIR_EGRESS = 2,  /* out of the pod: from-container */
};

#endif /* AXON_ABI_COMMON_H */
