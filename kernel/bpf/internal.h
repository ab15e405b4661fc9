/* kernel/bpf private: the operation semantics the verifier's constant
 * folding and the interpreter share, so both compute the same values. */
#ifndef KERNEL_BPF_INTERNAL_H
#define KERNEL_BPF_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

uint64_t bpf_alu(unsigned op, uint64_t a, uint64_t b, bool is64);
uint64_t bpf_end(uint64_t v, bool to_be, int32_t bits);
bool bpf_cond(unsigned op, uint64_t a, uint64_t b, bool is64);

#endif
