/* mtest: tail ring. */
#include "mtest/base/ring.h"

#include <string.h>

void mt_ring_reset(struct mt_ring *r)
{
	r->total = 0;
}

void mt_ring_push(struct mt_ring *r, const char *p, size_t n)
{
	size_t at, first;

	if (n >= sizeof r->buf) {
		p += n - sizeof r->buf;
		r->total += n - sizeof r->buf;
		n = sizeof r->buf;
	}
	at = (size_t)(r->total % sizeof r->buf);
	first = sizeof r->buf - at < n ? sizeof r->buf - at : n;
	memcpy(r->buf + at, p, first);
	memcpy(r->buf, p + first, n - first);
	r->total += n;
}

size_t mt_ring_tail(const struct mt_ring *r, char *out, size_t cap)
{
	size_t kept = r->total < sizeof r->buf ? (size_t)r->total : sizeof r->buf;
	size_t n = kept < cap - 1 ? kept : cap - 1;
	size_t start = (size_t)((r->total - n) % sizeof r->buf);
	size_t first = sizeof r->buf - start < n ? sizeof r->buf - start : n;

	memcpy(out, r->buf + start, first);
	memcpy(out + first, r->buf, n - first);
	out[n] = '\0';
	return n;
}
