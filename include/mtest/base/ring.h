/* mtest: a byte ring keeping the tail of a stream. */
#ifndef MTEST_RING_H
#define MTEST_RING_H

#include <stddef.h>
#include <stdint.h>

#include "mtest/limits.h"

struct mt_ring {
	char buf[MT_CONSOLE_RING];
	uint64_t total;		/* bytes ever pushed */
};

void mt_ring_reset(struct mt_ring *r);
void mt_ring_push(struct mt_ring *r, const char *p, size_t n);
/* The last min(cap - 1, kept) bytes, NUL-terminated; returns the length. */
size_t mt_ring_tail(const struct mt_ring *r, char *out, size_t cap);

#endif
