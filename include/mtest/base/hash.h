/* mtest: hashing. mt_hash64 (FNV-1a, 64 bits) names what is kept (bundle
 * names, LAVA names): it never changes. mt_hash_index, eight bytes a step,
 * is for tables in memory only. */
#ifndef MTEST_HASH_H
#define MTEST_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t mt_hash64(const void *p, size_t n);
uint64_t mt_hash_index(const void *p, size_t n);

#endif
