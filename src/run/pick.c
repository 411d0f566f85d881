/* mtest --report --run N|DATE|NAME: a kept run of a state directory, by
 * its place, its start or its name (include/mtest/run/report.h). */
#include <stdio.h>
#include <string.h>

#include "mtest/base/buf.h"
#include "mtest/base/msg.h"
#include "mtest/run/report.h"

static char names[MT_RUNS_MAX][MT_RUN_NAME_MAX];

/* "2026-12-01T02:00" -> "20261201T0200", as run folders are named. */
static void squeeze(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s && n + 1 < cap; s++)
		if (*s != '-' && *s != ':')
			out[n++] = *s == ' ' ? 'T' : *s;
	out[n] = '\0';
}

static int number(const char *s, unsigned *out)
{
	unsigned v = 0;

	if (!*s || strlen(s) > 6)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return 1;
}

int mt_runs_pick(const struct mt_statedir *sd, const char *spec, char *out, size_t cap)
{
	char want[MT_RUN_NAME_MAX], shown[80];
	struct mt_buf b;
	unsigned k;
	int n = mt_statedir_runs(sd, names, MT_RUNS_MAX), i;

	mt_buf_init(&b, shown, sizeof shown, -1);
	mt_buf_line(&b, spec, 64);
	if (n < 0) {
		mt_msg_sys("cannot list %s/runs", sd->dir);
		return 0;
	}
	if (number(spec, &k)) {
		if (k >= 1 && k <= (unsigned)n) {
			snprintf(out, cap, "%s/runs/%s", sd->dir, names[n - (int)k]);
			return 1;
		}
		mt_msg("--run %s: %d run%s kept in %s (1 is the newest; mtest --history lists "
		       "them)", mt_buf_str(&b), n, n == 1 ? "" : "s", sd->dir);
		return 0;
	}
	for (i = n - 1; i >= 0; i--)
		if (strcmp(names[i], spec) == 0) {
			snprintf(out, cap, "%s/runs/%s", sd->dir, names[i]);
			return 1;
		}
	squeeze(spec, want, sizeof want);
	for (i = n - 1; want[0] && i >= 0; i--)
		if (strncmp(names[i], want, strlen(want)) == 0) {
			snprintf(out, cap, "%s/runs/%s", sd->dir, names[i]);
			return 1;
		}
	mt_msg("--run %s: no kept run started then (want N, a UTC date such as 2026-12-01, "
	       "or a run's name; mtest --history lists them)", mt_buf_str(&b));
	return 0;
}
