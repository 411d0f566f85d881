/* mtest: the kernel's log, taint flags and markers (include/mtest/base/kmsg.h). */
#include "mtest/base/kmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/fsx.h"

/* One record of /dev/kmsg is at most this long (the kernel's
 * CONSOLE_EXT_LOG_MAX); a shorter buffer makes read(2) fail with EINVAL. */
#define RECORD_MAX 8192
/* The longest message kept of one line. */
#define TEXT_KEEP 1024

void mt_kmsg_init(struct mt_kmsg *k)
{
	k->fd = -1;
	k->read = read;
	k->err = 0;
	mt_kmsg_cursor(k);
}

int mt_kmsg_open(struct mt_kmsg *k, const char *path)
{
	mt_kmsg_init(k);
	k->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	return k->fd >= 0;
}

void mt_kmsg_close(struct mt_kmsg *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

static void forget(struct mt_kmsg *k)
{
	k->lines = k->dropped = k->overwritten = 0;
	k->first_seq = k->last_seq = 0;
	k->worst = MT_KMSG_NONE;
	k->worst_line[0] = k->oom_line[0] = '\0';
	k->nvictims = 0;
	k->len = 0;
	k->text[0] = '\0';
}

void mt_kmsg_cursor(struct mt_kmsg *k)
{
	k->held_len = 0;
	if (k->fd >= 0 && !k->err && lseek(k->fd, 0, SEEK_END) < 0 && errno == ESPIPE)
		mt_kmsg_drain(k);	/* a pipe: what is in it now is the past */
	forget(k);
}

void mt_kmsg_next(struct mt_kmsg *k)
{
	forget(k);
}

static void take_line(struct mt_kmsg *k, const char *rec, size_t n);

/* Records from p on, past the boundary: held, whole lines only. */
static void hold(struct mt_kmsg *k, const char *p, size_t n)
{
	size_t room = sizeof k->held - k->held_len;

	if (n > room) {
		const char *cut = p + room;

		while (cut > p && cut[-1] != '\n')
			cut--;
		n = (size_t)(cut - p);
	}
	memcpy(k->held + k->held_len, p, n);
	k->held_len += n;
}

/* The records of rec[0..n), a line each (a record's later lines, " KEY=value",
 * are its dictionary), up to the boundary. Returns 0 once some are held. */
static int take_until(struct mt_kmsg *k, const char *rec, size_t n, int64_t until)
{
	const char *p = rec, *end = rec + n, *nl;
	struct mt_kmsg_line l;
	size_t len;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((nl ? nl : end) - p);
		if (*p != ' ') {
			if (until != INT64_MAX && mt_kmsg_parse(p, len, &l) && l.ts_us > until) {
				hold(k, p, (size_t)(end - p));
				return 0;
			}
			take_line(k, p, len);
		}
		p = nl ? nl + 1 : end;
	}
	return 1;
}

uint32_t mt_kmsg_drain(struct mt_kmsg *k)
{
	return mt_kmsg_drain_until(k, INT64_MAX);
}

uint32_t mt_kmsg_drain_until(struct mt_kmsg *k, int64_t mono_us)
{
	static char rec[RECORD_MAX + 1], again[MT_KMSG_HELD];
	int64_t until = mono_us == INT64_MAX ? INT64_MAX : mono_us + k->offset_us;
	uint32_t before = k->lines + k->dropped;
	size_t n;
	ssize_t r;

	if (k->held_len) {
		n = k->held_len;
		memcpy(again, k->held, n);
		k->held_len = 0;
		if (!take_until(k, again, n, until))
			return k->lines + k->dropped - before;
	}
	while (k->fd >= 0 && !k->err) {
		r = k->read(k->fd, rec, RECORD_MAX);
		if (r > 0) {
			if (!take_until(k, rec, (size_t)r, until))
				break;
			continue;
		}
		if (r == 0 || errno == EAGAIN)
			break;		/* all read (a fake file ends) */
		if (errno == EINTR)
			continue;
		if (errno == EPIPE) {
			/* The kernel's ring overwrote records before they
			 * were read; the next read goes on from the oldest. */
			k->overwritten++;
			continue;
		}
		k->err = errno;
	}
	return k->lines + k->dropped - before;
}

/* ---- a record ------------------------------------------------------------- */

static int digits(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	while (*p < end && **p >= '0' && **p <= '9' && *v < UINT64_MAX / 10)
		*v = *v * 10 + (uint64_t)(*(*p)++ - '0');
	return *p > s;
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The number right after `key` in s, or 0. */
static pid_t number_after(const char *s, const char *key)
{
	const char *p = strstr(s, key);
	long v;

	if (!p)
		return 0;
	v = strtol(p + strlen(key), NULL, 10);
	return v > 0 && v < (1L << 30) ? (pid_t)v : 0;
}

/* "comm[PID]" ending right before `at`: the pid in brackets. */
static pid_t bracket_pid(const char *s, const char *at)
{
	const char *open = at;

	if (at <= s || at[-1] != ']')
		return 0;
	while (open > s && open[-1] != '[')
		open--;
	if (open == s)
		return 0;
	return number_after(open, "");
}

/* "COMM:PID" ending right before `at`: the pid. */
static pid_t colon_pid(const char *s, const char *at)
{
	const char *p = at;

	while (p > s && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p == at || p == s || p[-1] != ':')
		return 0;
	return number_after(p, "");
}

/* What a message says, and the process it names (0 if none). */
static enum mt_kmsg_kind classify(const char *t, int level, pid_t *pid, int *oom_kill)
{
	const char *p;

	*pid = 0;
	*oom_kill = 0;
	if ((p = strstr(t, "Killed process "))) {
		*pid = number_after(p, "Killed process ");
		*oom_kill = *pid > 0;
		return MT_KMSG_OOM;
	}
	if (starts(t, "oom-kill:") || starts(t, "oom_reaper: ")) {
		*pid = starts(t, "oom-kill:") ? number_after(t, ",pid=") :
		       number_after(t, "reaped process ");
		*oom_kill = *pid > 0;
		return MT_KMSG_OOM;
	}
	if (strstr(t, " invoked oom-killer: ") || starts(t, "Out of memory"))
		return MT_KMSG_OOM;
	if (strstr(t, "soft lockup - CPU#") || strstr(t, "hard LOCKUP") ||
	    (starts(t, "INFO: task ") && strstr(t, " blocked for more than ")) ||
	    (starts(t, "rcu: INFO: ") && strstr(t, "stall"))) {
		/* "INFO: task COMM:PID blocked ...", "... stuck for 22s! [COMM:PID]" */
		p = strstr(t, " blocked for more than ");
		*pid = colon_pid(t, p ? p : t + strlen(t) - (t[0] && t[strlen(t) - 1] == ']'));
		return MT_KMSG_LOCKUP;
	}
	if (starts(t, "BUG: ") || starts(t, "kernel BUG at ") || starts(t, "Oops") ||
	    starts(t, "Internal error: ") || starts(t, "Unable to handle kernel ") ||
	    starts(t, "general protection fault") || starts(t, "Kernel panic"))
		return MT_KMSG_OOPS;
	if (starts(t, "WARNING: ") || starts(t, "UBSAN: ")) {
		*pid = number_after(t, " PID: ");
		return MT_KMSG_WARNING;
	}
	if ((p = strstr(t, ": segfault at ")) || (p = strstr(t, ": unhandled ")) ||
	    (p = strstr(t, ": potentially unexpected fatal signal "))) {
		*pid = bracket_pid(t, p);
		return MT_KMSG_SEGFAULT;
	}
	if (starts(t, "traps: ") && (p = strchr(t + 7, ' '))) {
		*pid = bracket_pid(t, p);
		return MT_KMSG_SEGFAULT;
	}
	if (starts(t, "CPU: ") && strstr(t, " Comm: "))
		*pid = number_after(t, " PID: ");	/* an oops's or warning's process */
	return level <= 3 ? MT_KMSG_ERROR : MT_KMSG_LINE;
}

int mt_kmsg_parse(const char *rec, size_t n, struct mt_kmsg_line *out)
{
	const char *p = rec, *end = rec + n, *semi, *nl;
	uint64_t pri, seq, ts;

	if (!digits(&p, end, &pri) || p >= end || *p++ != ',' ||
	    !digits(&p, end, &seq) || p >= end || *p++ != ',' ||
	    !digits(&p, end, &ts) || p >= end || *p != ',')
		return 0;
	/* FLAGS and any later fields (caller=T123) up to ';'. */
	nl = memchr(p, '\n', (size_t)(end - p));
	semi = memchr(p, ';', (size_t)((nl ? nl : end) - p));
	if (!semi)
		return 0;
	out->facility = (int)(pri >> 3);
	out->level = (int)(pri & 7);
	out->seq = seq;
	out->ts_us = (int64_t)(ts > INT64_MAX ? INT64_MAX : ts);
	out->text = semi + 1;
	out->len = (size_t)((nl ? nl : end) - out->text);
	out->kind = MT_KMSG_LINE;
	out->pid = 0;
	out->oom_kill = 0;
	return 1;
}

int mt_kmsg_is_marker(const char *text, size_t len)
{
	size_t i = 6;

	if (len < 9 || memcmp(text, "mtest[", 6) != 0)
		return 0;
	while (i < len && text[i] >= '0' && text[i] <= '9')
		i++;
	return i > 6 && i + 2 < len && text[i] == ']' && text[i + 1] == ':' && text[i + 2] == ' ';
}

static const char *const level_name[8] = {
	"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
};

static const char *facility_name(int f, char *scratch, size_t cap)
{
	static const char *const names[] = { "kern", "user", "mail", "daemon", "auth",
					     "syslog", "lpr", "news", "uucp", "cron",
					     "authpriv", "ftp" };

	if (f >= 0 && f < (int)(sizeof names / sizeof names[0]))
		return names[f];
	if (f >= 16 && f < 24)
		snprintf(scratch, cap, "local%d", f - 16);
	else
		snprintf(scratch, cap, "fac%d", f);
	return scratch;
}

static void copy_line(char *out, size_t cap, const char *s, size_t n)
{
	size_t i;

	if (n > cap - 1)
		n = cap - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

/* A line as dmesg shows it, whole or not at all. */
static void keep(struct mt_kmsg *k, const struct mt_kmsg_line *l)
{
	char head[64], fac[16];
	size_t n = l->len < TEXT_KEEP ? l->len : TEXT_KEEP, h, i;

	h = (size_t)snprintf(head, sizeof head, "[%5lld.%06lld] %s.%s: ",
			     (long long)(l->ts_us / 1000000), (long long)(l->ts_us % 1000000),
			     facility_name(l->facility, fac, sizeof fac), level_name[l->level & 7]);
	if (h >= sizeof head || k->len + h + n + 2 > sizeof k->text) {
		k->dropped++;
		return;
	}
	memcpy(k->text + k->len, head, h);
	k->len += h;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l->text[i];

		k->text[k->len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	k->text[k->len++] = '\n';
	k->text[k->len] = '\0';
	k->lines++;
}

static void take_line(struct mt_kmsg *k, const char *rec, size_t n)
{
	struct mt_kmsg_line l;
	char t[TEXT_KEEP + 1];
	int i;

	if (!mt_kmsg_parse(rec, n, &l))
		return;
	if (l.facility != 0 && mt_kmsg_is_marker(l.text, l.len))
		return;		/* an mtest's own marker (this one's, or another's) */
	copy_line(t, sizeof t, l.text, l.len);
	l.kind = classify(t, l.level, &l.pid, &l.oom_kill);
	if (!k->lines && !k->dropped)
		k->first_seq = l.seq;
	k->last_seq = l.seq;
	keep(k, &l);
	/* Of the OOM killer's report, the line that names its victim. */
	if (l.kind > k->worst || (l.kind == MT_KMSG_OOM && l.oom_kill && l.facility == 0 &&
				  !k->oom_line[0])) {
		k->worst = l.kind;
		copy_line(k->worst_line, sizeof k->worst_line, l.text, l.len);
	}
	/* Only the kernel names the OOM killer's victims: a line a test
	 * writes (facility user) may say anything. */
	if (l.oom_kill && l.facility == 0) {
		for (i = 0; i < k->nvictims && k->victims[i] != l.pid; i++)
			;
		if (i == k->nvictims && k->nvictims < MT_KMSG_VICTIMS)
			k->victims[k->nvictims++] = l.pid;
		if (!k->oom_line[0] && strstr(t, "Killed process "))
			copy_line(k->oom_line, sizeof k->oom_line, l.text, l.len);
	}
}

void mt_kmsg_take(struct mt_kmsg *k, const char *rec, size_t n)
{
	take_until(k, rec, n, INT64_MAX);
}

int mt_kmsg_find_mark(struct mt_kmsg *k, pid_t pid, int64_t *ts_us)
{
	static char rec[RECORD_MAX + 1];
	struct mt_kmsg_line l;
	char want[32];
	const char *p, *end, *nl;
	ssize_t r;
	int w = snprintf(want, sizeof want, "mtest[%d]: ", (int)pid);

	while (k->fd >= 0 && !k->err) {
		r = k->read(k->fd, rec, RECORD_MAX);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EPIPE)
			continue;
		if (r <= 0)
			return 0;
		for (p = rec, end = rec + r; p < end; p = nl ? nl + 1 : end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (mt_kmsg_parse(p, (size_t)((nl ? nl : end) - p), &l) && l.facility != 0 &&
			    l.len >= (size_t)w && memcmp(l.text, want, (size_t)w) == 0) {
				*ts_us = l.ts_us;
				return 1;
			}
		}
	}
	return 0;
}

const char *mt_kmsg_kind_name(enum mt_kmsg_kind kind)
{
	static const char *const names[MT_KMSG_KINDS] = {
		"none", "line", "error", "segfault", "warning", "oom", "lockup", "oops",
	};

	return kind >= 0 && kind < MT_KMSG_KINDS ? names[kind] : "?";
}

int mt_kmsg_killed(const struct mt_kmsg *k, pid_t pid)
{
	int i;

	for (i = 0; i < k->nvictims; i++)
		if (k->victims[i] == pid)
			return 1;
	return 0;
}

int mt_kmsg_notable(const struct mt_kmsg *k)
{
	return k->worst >= MT_KMSG_ERROR || k->overwritten;
}

/* ---- taint -------------------------------------------------------------- */

/* The kernel's taint flags (Documentation/admin-guide/tainted-kernels.rst). */
static const struct {
	char letter;
	const char *what;
} taints[] = {
	{ 'P', "proprietary module loaded" },
	{ 'F', "module force-loaded" },
	{ 'S', "kernel running on an out-of-specification system" },
	{ 'R', "module force-unloaded" },
	{ 'M', "machine check exception" },
	{ 'B', "bad page referenced, or unexpected page flags" },
	{ 'U', "taint requested by a userspace program" },
	{ 'D', "kernel died recently: an oops or a BUG" },
	{ 'A', "ACPI table overridden" },
	{ 'W', "kernel issued a warning" },
	{ 'C', "staging driver loaded" },
	{ 'I', "workaround for a firmware bug applied" },
	{ 'O', "out-of-tree module loaded" },
	{ 'E', "unsigned module loaded" },
	{ 'L', "soft lockup occurred" },
	{ 'K', "kernel live-patched" },
	{ 'X', "auxiliary taint (distribution-defined)" },
	{ 'T', "kernel built with the struct randomization plugin" },
	{ 'N', "an in-kernel test ran" },
	{ 'J', "userspace used a mutating debug operation in fwctl" },
};
#define NTAINTS (sizeof taints / sizeof taints[0])

int mt_kmsg_taint_read(const char *path, unsigned long *bits)
{
	char text[64], *end;
	unsigned long v;

	if (mt_read_file(path, text, sizeof text) < 0)
		return 0;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (end == text || errno) {
		errno = errno ? errno : EINVAL;
		return 0;
	}
	*bits = v;
	return 1;
}

void mt_kmsg_taint_letters(unsigned long bits, char *out, size_t cap)
{
	size_t n = 0, i;

	for (i = 0; i < sizeof bits * 8 && n + 1 < cap; i++)
		if (bits >> i & 1)
			out[n++] = i < NTAINTS ? taints[i].letter : '?';
	out[n] = '\0';
}

void mt_kmsg_taint_text(unsigned long bits, char *out, size_t cap)
{
	size_t n = 0, i;
	int w;

	out[0] = '\0';
	for (i = 0; i < sizeof bits * 8 && n < cap; i++) {
		if (!(bits >> i & 1))
			continue;
		if (i < NTAINTS)
			w = snprintf(out + n, cap - n, "%s%c (%s)", n ? ", " : "", taints[i].letter,
				     taints[i].what);
		else
			w = snprintf(out + n, cap - n, "%sbit %zu (unknown to mtest)", n ? ", " : "", i);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* ---- markers ---------------------------------------------------------------- */

int mt_kmsg_marks_open(struct mt_kmsg_marks *m, const char *path, const char *sysctl,
		       char *why, size_t cap)
{
	char mode[32];

	memset(m, 0, sizeof *m);
	m->fd = -1;
	m->pid = getpid();
	if (geteuid() != 0) {
		snprintf(why, cap, "not root: only root writes to %s", path);
		return 0;
	}
	/* Kernels before 4.10 have no sysctl, and no limit either. */
	if (mt_read_file(sysctl, mode, sizeof mode) >= 0) {
		if (strncmp(mode, "off", 3) == 0) {
			snprintf(why, cap, "kernel.printk_devkmsg is off: the kernel drops what "
				 "userspace writes to %s", path);
			return 0;
		}
		m->limited = strncmp(mode, "on", 2) != 0;
	}
	m->fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (m->fd < 0) {
		snprintf(why, cap, "cannot open %s: %s", path, strerror(errno));
		return 0;
	}
	return 1;
}

void mt_kmsg_marks_close(struct mt_kmsg_marks *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

int mt_kmsg_marks_room(struct mt_kmsg_marks *m, int64_t now_us)
{
	if (m->fd < 0)
		return 0;
	if (!m->limited)
		return MT_KMSG_BURST;
	if (m->used && now_us - m->window_us >= MT_KMSG_WINDOW_US)
		m->used = 0;	/* a new window starts with the next marker */
	return MT_KMSG_BURST - m->used;
}

int mt_kmsg_mark(struct mt_kmsg_marks *m, int64_t now_us, int reserve, const char *fmt, ...)
{
	char line[960];
	va_list ap;
	int n, w;

	if (m->fd < 0)
		return 0;
	if (mt_kmsg_marks_room(m, now_us) <= reserve) {
		m->skipped++;
		m->skipped_total++;
		return 0;
	}
	/* Level info, facility user (the kernel's default for a writer). */
	n = snprintf(line, sizeof line, "<6>mtest[%d]: ", (int)m->pid);
	va_start(ap, fmt);
	w = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	n = w < 0 ? n : n + w >= (int)sizeof line ? (int)sizeof line - 1 : n + w;
	if (m->skipped && n < (int)sizeof line - 1) {
		w = snprintf(line + n, sizeof line - (size_t)n, " (%u earlier marker%s skipped: "
			     "the kernel's rate limit)", m->skipped, m->skipped == 1 ? "" : "s");
		n = w < 0 ? n : n + w >= (int)sizeof line ? (int)sizeof line - 1 : n + w;
	}
	line[n++] = '\n';
	if (!mt_write_all(m->fd, line, (size_t)n)) {
		m->skipped++;
		m->skipped_total++;
		return 0;
	}
	if (!m->used)
		m->window_us = now_us;
	m->used++;
	m->written++;
	m->skipped = 0;
	return 1;
}
