/* mtest --quarantine: the flaky tests, with their recent results, and
 * pins set by hand (include/mtest/state/quarantine.h). */
#include "mtest/state/quarantine.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/msg.h"
#include "mtest/state/statedir.h"

static struct mt_quarantine Q;

static const char *state_of(const struct mt_qentry *e)
{
	if (e->pin == 'i')
		return "pinned in";
	if (e->pin == 'o')
		return "pinned out";
	return e->in ? "in" : "watched";
}

static int list(const struct mt_statedir *sd)
{
	static char bytes[MT_OUTBUF];
	struct mt_buf out;
	uint32_t i, in = 0;
	int bad, k;

	for (i = 0; i < Q.n; i++)
		in += (uint32_t)mt_quar_is_in(&Q.e[i]);
	mt_buf_init(&out, bytes, sizeof bytes, 1);
	mt_buf_printf(&out, "quarantine of %s: %u test%s in, %u watched\n", sd->dir, in,
		      in == 1 ? "" : "s", Q.n - in);
	if (Q.n)
		mt_buf_puts(&out, "(last results oldest first: P passed, F failed, errored, hung "
			    "or crashed; 3 F in 5 put a test in, 3 P in a row take it out)\n\n");
	for (i = 0; i < Q.n; i++) {
		const struct mt_qentry *e = &Q.e[i];

		for (bad = 0, k = 0; e->h[k]; k++)
			bad += e->h[k] == 'F';
		mt_buf_printf(&out, "%-10s %-5s %s", state_of(e), e->h[0] ? e->h : "-",
			      mt_quar_id(&Q, e));
		if (!e->in && !e->pin && bad)
			mt_buf_printf(&out, "  (%d bad of the last %zu)", bad, strlen(e->h));
		mt_buf_putc(&out, '\n');
	}
	return mt_buf_flush(&out) ? MT_EXIT_OK : MT_EXIT_INTERNAL;
}

/* A test id as pytest writes it: printable, one line. */
static int id_ok(const char *id)
{
	const unsigned char *p;

	if (!*id || strlen(id) >= MT_ID_MAX)
		return 0;
	for (p = (const unsigned char *)id; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int pin(struct mt_statedir *sd, const struct mt_opts *o, const char *path)
{
	char p = o->quar_action == 'i' ? 'i' : o->quar_action == 'o' ? 'o' : 0;
	int i, usage;

	for (i = 1; i < o->npaths; i++)
		if (!id_ok(o->paths[i])) {
			char shown[128];
			struct mt_buf b;

			mt_buf_init(&b, shown, sizeof shown, -1);
			mt_buf_line(&b, o->paths[i], 100);
			mt_msg("--quarantine: not a test id: '%s'", mt_buf_str(&b));
			return MT_EXIT_USAGE;
		}
	/* A run saves the file at its end: pins wait for it, not race it. */
	if (!mt_statedir_open(sd, &usage))
		return usage == 2 ? MT_EXIT_BUSY : usage ? MT_EXIT_USAGE : MT_EXIT_INTERNAL;
	mt_quar_load(&Q, sd->fd, "quarantine.json", path);
	for (i = 1; i < o->npaths; i++) {
		if (!mt_quar_pin(&Q, o->paths[i], p)) {
			mt_msg("quarantine.json is full (MT_TESTS_MAX=%d, MT_HISTORY_BYTES=%u): "
			       "%s not pinned", MT_TESTS_MAX, MT_HISTORY_BYTES, o->paths[i]);
			return MT_EXIT_INTERNAL;
		}
	}
	if (!mt_quar_save(&Q, sd->fd, "quarantine.json")) {
		mt_msg_sys("cannot write %s", path);
		return MT_EXIT_INTERNAL;
	}
	return list(sd);
}

int mt_quar_main(const struct mt_opts *o)
{
	static struct mt_statedir sd;
	char looked[2048], path[MT_PATH_MAX + 32];

	if (!mt_statedir_find(&sd, o, looked, sizeof looked)) {
		if (o->quar_action == 'l') {
			mt_msg("no state directory with a run; looked in %s", looked);
			return MT_EXIT_USAGE;
		}
		if (!mt_statedir_for_run(&sd, o))
			return MT_EXIT_USAGE;
	}
	snprintf(path, sizeof path, "%s/quarantine.json", sd.dir);
	if (o->quar_action != 'l')
		return pin(&sd, o, path);
	mt_quar_load(&Q, sd.fd, "quarantine.json", path);
	return list(&sd);
}
