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

#endif /* AXON_ABI_COMMON_H */
