/* mtest: JUnit XML (include/mtest/run/junit.h), in the shape of pytest's
 * junit_family=xunit2 (its junit-10.xsd): one testsuite, one testcase per
 * collected test and per file that could not be collected.
 *
 *   passed, xpassed         <testcase/>
 *   failed                  <failure>
 *   error, hung, crashed,   <error>, with the reason, the crash line, the
 *   collection_error        traceback's end and the bundle (the stacks)
 *   skipped, xfailed        <skipped> (pytest's types)
 *   not_run                 <error type="mtest.not_run">, or <skipped> when
 *                           the plan left it out (--tier, --shard, --budget)
 *   quarantined and bad     <skipped type="mtest.quarantined">: it does
 *                           not fail the run
 *   passed on a recheck     <flakyFailure> beside its verdict, which stands */
#include "mtest/run/junit.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/base/msg.h"

#define BUNDLE_MAX (64u << 10)	/* of each bundle, in the element's text */

struct counts {
	uint32_t tests, failures, errors, skipped;
};

static void attr(struct mt_buf *b, const char *name, const char *value)
{
	mt_buf_printf(b, " %s=\"", name);
	mt_buf_xml(b, value, strlen(value));
	mt_buf_putc(b, '"');
}

/* How a test shows: the element, its type, and whether it counts as a
 * failure ('f'), an error ('e'), a skip ('s') or a pass (0). */
static char shape(const struct mt_test *t, const char **elem, const char **type)
{
	int bad = mt_verdict_is_bad((enum mt_verdict)t->verdict);

	*elem = *type = NULL;
	if (t->quarantined && bad) {
		*elem = "skipped";
		*type = "mtest.quarantined";
		return 's';
	}
	switch (t->verdict) {
	case MT_V_FAILED: *elem = "failure"; *type = "mtest.failed"; return 'f';
	case MT_V_ERROR: *elem = "error"; *type = "mtest.error"; return 'e';
	case MT_V_HUNG: *elem = "error"; *type = "mtest.hung"; return 'e';
	case MT_V_CRASHED: *elem = "error"; *type = "mtest.crashed"; return 'e';
	case MT_V_COLLECTION_ERROR: *elem = "error"; *type = "mtest.collection_error"; return 'e';
	case MT_V_SKIPPED: *elem = "skipped"; *type = "pytest.skip"; return 's';
	case MT_V_XFAILED: *elem = "skipped"; *type = "pytest.xfail"; return 's';
	case MT_V_NOT_RUN:
	case MT_V_NONE:
		if (t->planned) {
			*elem = "skipped";
			*type = "mtest.planned";
			return 's';
		}
		*elem = "error";
		*type = "mtest.not_run";
		return 'e';
	default: return 0;
	}
}

/* "tests/sub/test_x.py::TestY::test_z[1]": classname tests.sub.test_x.TestY,
 * name test_z[1], as pytest writes them. */
static void names(struct mt_buf *b, const char *id, int file_kind)
{
	const char *sep = strstr(id, "::"), *last = NULL, *p, *end;
	struct mt_buf c;
	char cls[MT_ID_MAX + 8];
	size_t n, i;

	mt_buf_init(&c, cls, sizeof cls, -1);
	if (file_kind || !sep) {
		attr(b, "classname", "");
		attr(b, "name", id);
		return;
	}
	/* The last "::" outside the parameters' brackets ends the class. */
	end = strchr(id, '[') ? strchr(id, '[') : id + strlen(id);
	for (p = sep; p && p < end; p = strstr(p + 2, "::"))
		last = p;
	n = (size_t)(sep - id);
	if (n > 3 && memcmp(sep - 3, ".py", 3) == 0)
		n -= 3;
	for (i = 0; i < n; i++)
		mt_buf_putc(&c, id[i] == '/' ? '.' : id[i]);
	for (p = sep; p < last; p++)
		if (p[0] == ':' && p[1] == ':') {
			mt_buf_putc(&c, '.');
			p++;
		} else {
			mt_buf_putc(&c, *p);
		}
	attr(b, "classname", mt_buf_str(&c));
	attr(b, "name", last + 2);
}

/* The bundle (crash line, traceback, stacks, output), when there is one. */
static int bundle_text(struct mt_buf *b, const char *dir, const char *rel)
{
	static char text[BUNDLE_MAX];
	char path[MT_PATH_MAX * 2];
	ssize_t n;

	if (!dir || !*rel || snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
		return 0;
	n = mt_read_file(path, text, sizeof text);
	if (n <= 0)
		return 0;
	mt_buf_puts(b, "\n\n");
	mt_buf_xml(b, text, (size_t)n);
	if ((size_t)n == sizeof text) {
		mt_buf_puts(b, "\n... (cut: the whole bundle is ");
		mt_buf_xml(b, path, strlen(path));
		mt_buf_puts(b, ")");
	}
	return 1;
}

static void testcase(struct mt_buf *b, const struct mt_run *r, const struct mt_test *t,
		     const char *dir)
{
	const char *elem, *type, *reason = mt_run_reason(r, t);
	const char *detail = mt_run_detail(r, t), *tb = mt_run_tbtail(r, t);
	const char *recheck = mt_run_str(r, t->recheck);
	char kind = shape(t, &elem, &type), msg[MT_REASON_MAX + 64];

	mt_buf_puts(b, "<testcase");
	names(b, mt_run_str(r, t->id), t->kind == MT_KIND_FILE);
	mt_buf_puts(b, " time=\"");
	mt_buf_secs(b, t->duration_us > 0 ? t->duration_us : 0, 3);
	mt_buf_putc(b, '"');
	if (!elem && !*recheck) {
		mt_buf_puts(b, "/>\n");
		return;
	}
	mt_buf_puts(b, ">");
	if (elem) {
		snprintf(msg, sizeof msg, "%s%s%s%s", t->quarantined && kind == 's' ? "quarantined: " : "",
			 mt_verdict_name((enum mt_verdict)t->verdict), *reason ? ": " : "", reason);
		mt_buf_printf(b, "<%s", elem);
		attr(b, "type", type);
		attr(b, "message", msg);
		mt_buf_putc(b, '>');
		mt_buf_xml(b, msg, strlen(msg));
		if (!mt_verdict_is_bad((enum mt_verdict)t->verdict) ||
		    !bundle_text(b, dir, mt_run_str(r, t->bundle))) {
			if (*detail) {
				mt_buf_putc(b, '\n');
				mt_buf_xml(b, detail, strlen(detail));
			}
			if (*tb) {
				mt_buf_puts(b, "\n\n");
				mt_buf_xml(b, tb, strlen(tb));
			}
		}
		mt_buf_printf(b, "</%s>", elem);
	}
	/* The verdict stands; a recheck that passed says it was not for sure. */
	if (strcmp(recheck, "passes alone") == 0 || strcmp(recheck, "flaky") == 0) {
		mt_buf_puts(b, "<flakyFailure type=\"mtest.recheck\"");
		snprintf(msg, sizeof msg, "passed on a recheck: %s", recheck);
		attr(b, "message", msg);
		mt_buf_puts(b, "/>");
	}
	mt_buf_puts(b, "</testcase>\n");
}

/* Collected tests a run that did not end holds no record of. */
static uint32_t missing(const struct mt_run *r, const struct mt_meta *m)
{
	uint32_t i, have = 0;

	if (m->state == MT_RUN_DONE || !m->collected_known)
		return 0;
	for (i = 0; i < r->n; i++)
		have += r->t[i].kind == MT_KIND_TEST && !r->t[i].gone;
	return m->collected > have ? m->collected - have : 0;
}

static void count(const struct mt_run *r, const struct mt_meta *m, struct counts *c)
{
	const char *elem, *type;
	uint32_t i;
	char kind;

	for (i = 0; i < r->n; i++) {
		if (r->t[i].gone)
			continue;	/* no longer in the suite: counted nowhere */
		kind = shape(&r->t[i], &elem, &type);
		c->tests++;
		c->failures += kind == 'f';
		c->errors += kind == 'e';
		c->skipped += kind == 's';
	}
	if (missing(r, m)) {
		c->tests++;
		c->errors++;
	}
}

static void body(struct mt_buf *b, const struct mt_run *r, const struct mt_meta *m)
{
	uint32_t i;
	int v;

	mt_buf_puts(b, "<properties>\n");
	for (v = MT_V_PASSED; v < MT_V_COUNT; v++)
		mt_buf_printf(b, "<property name=\"mtest.%s\" value=\"%u\"/>\n",
			      mt_verdict_name((enum mt_verdict)v), r->count[v]);
	mt_buf_printf(b, "<property name=\"mtest.quarantined\" value=\"%u\"/>\n", r->quar);
	mt_buf_printf(b, "<property name=\"mtest.state\" value=\"%s\"/>\n",
		      m->state == MT_RUN_DONE ? "done" : m->state == MT_RUN_LIVE ? "running" :
		      "died");
	if (m->state == MT_RUN_DONE)
		mt_buf_printf(b, "<property name=\"mtest.exit\" value=\"%d\"/>\n", m->exit_code);
	if (m->stopped) {
		mt_buf_puts(b, "<property name=\"mtest.stopped\"");
		attr(b, "value", m->stopped);
		mt_buf_puts(b, "/>\n");
	}
	mt_buf_puts(b, "</properties>\n");
	for (i = 0; i < r->n; i++)
		if (!r->t[i].gone)
			testcase(b, r, &r->t[i], m->last_dir);
	if (missing(r, m)) {
		mt_buf_printf(b, "<testcase classname=\"mtest\" name=\"incomplete\" time=\"0\">"
			      "<error type=\"mtest.incomplete\" message=\"%u of %u collected tests "
			      "have no verdict: the run %s\"/></testcase>\n", missing(r, m),
			      m->collected, m->state == MT_RUN_LIVE ? "is still going" : "died");
	}
}

int mt_junit_write(const char *path, const struct mt_run *r, const struct mt_meta *m)
{
	static struct mt_atomic a;
	struct counts c = { 0 };
	struct mt_buf head;
	char host[256], stamp[40];

	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "?");
	host[sizeof host - 1] = '\0';
	mt_buf_init(&head, stamp, sizeof stamp, -1);
	mt_buf_utc(&head, m->start_wall_us);
	count(r, m, &c);	/* the counts head the file */
	if (!mt_atomic_open(&a, path)) {
		mt_msg_sys("--junit-xml: cannot write %s", path);
		return 0;
	}
	mt_buf_puts(&a.out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
	mt_buf_printf(&a.out, "<testsuites name=\"mtest\" tests=\"%u\" failures=\"%u\" "
		      "errors=\"%u\" time=\"", c.tests, c.failures, c.errors);
	mt_buf_secs(&a.out, m->elapsed_us > 0 ? m->elapsed_us : 0, 3);
	mt_buf_printf(&a.out, "\">\n<testsuite name=\"mtest\" tests=\"%u\" failures=\"%u\" "
		      "errors=\"%u\" skipped=\"%u\" time=\"", c.tests, c.failures, c.errors,
		      c.skipped);
	mt_buf_secs(&a.out, m->elapsed_us > 0 ? m->elapsed_us : 0, 3);
	mt_buf_putc(&a.out, '"');
	attr(&a.out, "timestamp", mt_buf_str(&head));
	attr(&a.out, "hostname", host);
	mt_buf_puts(&a.out, ">\n");
	body(&a.out, r, m);
	mt_buf_puts(&a.out, "</testsuite>\n</testsuites>\n");
	if (!mt_atomic_commit(&a)) {
		mt_msg_sys("--junit-xml: cannot write %s", path);
		mt_atomic_abort(&a);
		return 0;
	}
	return 1;
}
