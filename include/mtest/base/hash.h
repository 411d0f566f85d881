/* mtest: FNV-1a, 64 bits: index tables and bundle names. */
#ifndef MTEST_HASH_H
#define MTEST_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t mt_hash64(const void *p, size_t n);

#endif
