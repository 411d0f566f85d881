/* mtest: FNV-1a 64. */
#include "mtest/base/hash.h"

uint64_t mt_hash64(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *c++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
