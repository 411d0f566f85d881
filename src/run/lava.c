/* mtest: LAVA test-shell signals (include/mtest/run/lava.h). */
#include "mtest/run/lava.h"

#include <stdio.h>
#include <string.h>

#include "mtest/base/hash.h"

static int lava_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

void mt_lava_name(struct mt_buf *b, const char *s, size_t cap)
{
	char out[256];
	size_t i, n = 0, len = strlen(s);
	int changed = 0;

	if (cap > sizeof out - 1)
		cap = sizeof out - 1;
	for (i = 0; i < len; i++) {
		if (s[i] == ':' && s[i + 1] == ':') {
			out[n < cap ? n++ : n] = '.';
			i++;
		} else if (lava_char(s[i])) {
			out[n < cap ? n++ : n] = s[i];
		} else {
			out[n < cap ? n++ : n] = '_';
			changed = 1;
		}
		if (n == cap && i + 1 < len)
			changed = 1;
	}
	if (!n) {
		out[n++] = '_';
		changed = 1;
	}
	if (changed && n > cap - 9)
		n = cap - 9;
	mt_buf_put(b, out, n);
	if (changed)
		mt_buf_printf(b, "-%08x", (unsigned)(mt_hash64(s, len) & 0xffffffffu));
}

static const char *result(enum mt_verdict v, int planned)
{
	switch (v) {
	case MT_V_PASSED: case MT_V_XFAILED: case MT_V_XPASSED: return "pass";
	case MT_V_SKIPPED: return "skip";
	case MT_V_NOT_RUN: return planned ? "skip" : "unknown";
	default: return mt_verdict_is_bad(v) ? "fail" : "unknown";
	}
}

void mt_lava_end(struct mt_lava *l, struct mt_buf *b)
{
	if (!l->set[0])
		return;
	mt_buf_puts(b, "<LAVA_SIGNAL_TESTSET STOP>\n");
	l->set[0] = '\0';
}

/* Text inside a signal: one line, no '<' or '>' (LAVA's pattern ends a
 * signal at the first '>'), at most max bytes. */
static void plain(struct mt_buf *b, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s && s[i] && i < max; i++)
		mt_buf_putc(b, s[i] == '<' ? '[' : s[i] == '>' ? ']' :
			    (unsigned char)s[i] < ' ' ? ' ' : s[i]);
}

/* A bad verdict's reason with its case's markers: LAVA takes only the name
 * from STARTTC and ENDTC and logs each signal it parses as one line, which
 * its result points at (starttc, endtc) and its server shows as the case's
 * log; the reason rides in ENDTC, so that line holds it, however the
 * console's output was read. */
static void why(struct mt_buf *b, const char *name, size_t nlen, const struct mt_lava_why *w)
{
	mt_buf_puts(b, "<LAVA_SIGNAL_STARTTC ");
	mt_buf_put(b, name, nlen);
	mt_buf_puts(b, ">\n<LAVA_SIGNAL_ENDTC ");
	mt_buf_put(b, name, nlen);
	mt_buf_puts(b, " mtest: ");
	mt_buf_puts(b, mt_verdict_name(w->verdict));
	if (w->reason && *w->reason) {
		mt_buf_puts(b, " (");
		plain(b, w->reason, 200);
		mt_buf_putc(b, ')');
	}
	if (w->detail && *w->detail) {
		mt_buf_puts(b, ": ");
		plain(b, w->detail, 400);
	}
	mt_buf_puts(b, ">\n");
}

void mt_lava_verdict(struct mt_lava *l, struct mt_buf *b, const char *id, const char *file,
		     const struct mt_lava_why *w, int planned, int64_t duration_us)
{
	const char *set = file && *file ? file : id, *sep;
	enum mt_verdict v = w->verdict;
	char name[128];
	struct mt_buf nb;
	size_t flen;

	if (strcmp(set, l->set) != 0) {
		mt_lava_end(l, b);
		snprintf(l->set, sizeof l->set, "%s", set);
		mt_buf_puts(b, "<LAVA_SIGNAL_TESTSET START ");
		mt_lava_name(b, set, 200);
		mt_buf_puts(b, ">\n");
	}
	/* The case: the id within its file ("test_x.py::T::t" -> "T.t"); a
	 * file that could not be collected is the case "collection". */
	flen = strlen(set);
	sep = file && strncmp(id, set, flen) == 0 && strncmp(id + flen, "::", 2) == 0 ?
	      id + flen + 2 : file ? id : "collection";
	mt_buf_init(&nb, name, sizeof name, -1);
	mt_lava_name(&nb, sep, 100);
	if (mt_verdict_is_bad(v))
		why(b, nb.p, nb.len, w);
	mt_buf_puts(b, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=");
	mt_buf_put(b, nb.p, nb.len);
	mt_buf_printf(b, " RESULT=%s", result(v, planned));
	if (v != MT_V_NOT_RUN && v != MT_V_SKIPPED) {
		mt_buf_puts(b, " MEASUREMENT=");
		mt_buf_secs(b, duration_us > 0 ? duration_us : 0, 3);
		mt_buf_puts(b, " UNITS=seconds");
	}
	mt_buf_puts(b, ">\n");
}

int mt_lava_replay(struct mt_lava *l, const struct mt_run *r)
{
	static char bytes[MT_OUTBUF];
	struct mt_buf out;
	uint32_t i;

	mt_buf_init(&out, bytes, sizeof bytes, 1);
	/* Table order is collection order: each file's tests together. */
	for (i = 0; i < r->n; i++) {
		const struct mt_test *t = &r->t[i];
		struct mt_lava_why w = { (enum mt_verdict)t->verdict, mt_run_reason(r, t),
					 mt_run_detail(r, t) };

		if (t->verdict == MT_V_NONE || t->gone)
			continue;
		mt_lava_verdict(l, &out, mt_run_str(r, t->id),
				t->kind == MT_KIND_FILE ? NULL : t->file != MT_NONE ?
				mt_run_str(r, r->f[t->file].rel) : "",
				&w, t->planned, t->duration_us);
	}
	return mt_buf_flush(&out);
}
