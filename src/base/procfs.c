/* mtest: the one reader of /proc (include/mtest/procfs.h). */
#include "mtest/base/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtest/base/fsx.h"
#include "mtest/base/msg.h"

#define PF_EXITING 0x00000004u

/* Parse the text of a stat file. comm may hold spaces and parentheses: it
 * ends at the last ')'. Fields after it are numbered from 3 (state). */
static int parse_stat(const char *buf, pid_t pid, struct mt_proc *p)
{
	const char *open_ = strchr(buf, '('), *close_ = strrchr(buf, ')'), *s;
	unsigned long long v;
	size_t n;
	int field;
	char *end;

	if (!open_ || !close_ || close_ < open_ || close_[1] != ' ' || !close_[2])
		return 0;
	memset(p, 0, sizeof *p);
	p->pid = pid;
	n = (size_t)(close_ - open_ - 1);
	if (n >= sizeof p->comm)
		n = sizeof p->comm - 1;
	memcpy(p->comm, open_ + 1, n);
	p->comm[n] = '\0';
	p->state = close_[2];
	s = close_ + 3;
	for (field = 4; field <= 52; field++) {
		v = strtoull(s, &end, 10);
		if (end == s)
			return field > 22;	/* old kernels end before field 52 */
		s = end;
		switch (field) {
		case 4: p->ppid = (pid_t)v; break;
		case 5: p->pgid = (pid_t)v; break;
		case 6: p->sid = (pid_t)v; break;
		case 9: p->flags = (unsigned)v; break;
		case 22: p->start = v; break;
		case 52: p->exit_code = (int)v; break;
		default: break;
		}
	}
	return 1;
}

static int stat_at(const char *path, pid_t pid, struct mt_proc *p)
{
	char buf[1024];

	return mt_read_file(path, buf, sizeof buf) > 0 && parse_stat(buf, pid, p);
}

int mt_proc_stat(pid_t pid, struct mt_proc *p)
{
	char path[64];

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	return stat_at(path, pid, p);
}

int mt_task_stat(pid_t pid, pid_t tid, struct mt_proc *p)
{
	char path[96];

	if (pid <= 0 || tid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	return stat_at(path, tid, p);
}

int mt_proc_is(pid_t pid, unsigned long long start)
{
	struct mt_proc p;

	return mt_proc_stat(pid, &p) && p.start == start && p.state != 'Z' && p.state != 'X';
}

int mt_proc_ending(pid_t pid)
{
	struct mt_proc p;

	return !mt_proc_stat(pid, &p) || p.state == 'Z' || p.state == 'X' ||
	       (p.flags & PF_EXITING);
}

int mt_proc_tasks(pid_t pid, pid_t *out, int max, int *more)
{
	struct mt_dir d;
	char path[64];
	const char *name;
	int n = 0;

	*more = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!mt_dir_open(&d, AT_FDCWD, path))
		return 0;
	while ((name = mt_dir_next(&d, NULL))) {
		if (n >= max) {
			*more = 1;
			break;
		}
		out[n++] = (pid_t)atoi(name);
	}
	mt_dir_close(&d);
	return n;
}

/* Append the live children of pid (every thread's) to out[*n..max). */
static void add_kids(pid_t pid, struct mt_proc *out, int *n, int max, int *more)
{
	static pid_t tids[1024];
	char path[96], text[4096], *p, *end;
	int nt, i, tmore;
	long kid;

	nt = mt_proc_tasks(pid, tids, (int)(sizeof tids / sizeof tids[0]), &tmore);
	for (i = 0; i < nt; i++) {
		snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)tids[i]);
		if (mt_read_file(path, text, sizeof text) <= 0)
			continue;
		for (p = text;; p = end) {
			kid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (*n >= max) {
				*more = 1;
				return;
			}
			if (mt_proc_stat((pid_t)kid, &out[*n]) && out[*n].state != 'Z')
				(*n)++;
		}
	}
}

int mt_proc_descendants(pid_t root, struct mt_proc *out, int max, int *more)
{
	int n = 0, head;

	*more = 0;
	add_kids(root, out, &n, max, more);
	/* out[] is its own queue: each entry's children go after it. */
	for (head = 0; head < n && !*more; head++)
		add_kids(out[head].pid, out, &n, max, more);
	return n;
}

int mt_proc_cmdline(pid_t pid, const char *fallback, char *out, size_t cap)
{
	char path[64], text[512];
	ssize_t n, i;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	n = mt_read_file(path, text, sizeof text);
	while (n > 0 && text[n - 1] == '\0')
		n--;
	if (n <= 0) {
		/* Empty right after an exec, before the kernel has set up the
		 * new program's arguments: not known yet. */
		/* The executable is known from the start of the exec. */
		snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
		n = readlink(path, text, sizeof text - 1);
		if (n > 0) {
			text[n] = '\0';
			snprintf(out, cap, "%s", text);
		} else if (fallback != out) {
			snprintf(out, cap, "%s", fallback ? fallback : "");
		}
		return 0;
	}
	for (i = 0; i < n; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	text[n] = '\0';
	snprintf(out, cap, "%s", text);
	return 1;
}

int mt_proc_exit_status(pid_t pid, unsigned long long start, char *out, size_t cap)
{
	struct mt_proc p;
	char scratch[16];

	snprintf(out, cap, "unknown");
	if (!mt_proc_stat(pid, &p) || p.start != start || p.state != 'Z')
		return 0;
	if (p.exit_code & 0x7f)
		snprintf(out, cap, "%s", mt_signame(p.exit_code & 0x7f, scratch, sizeof scratch));
	else
		snprintf(out, cap, "exit %d", (p.exit_code >> 8) & 0xff);
	return 1;
}

int mt_proc_env(pid_t pid, const char *name, char *out, size_t cap)
{
	static char env[65536];
	char path[64];
	size_t n = strlen(name);
	ssize_t len;
	char *e;

	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	len = mt_read_file(path, env, sizeof env);
	for (e = env; len > 0 && e < env + len; e += strlen(e) + 1)
		if (strncmp(e, name, n) == 0 && e[n] == '=') {
			snprintf(out, cap, "%s", e + n + 1);
			return 1;
		}
	return 0;
}

static long clock_hz(void)
{
	static long hz;

	if (!hz) {
		hz = sysconf(_SC_CLK_TCK);
		if (hz <= 0)
			hz = 100;
	}
	return hz;
}

static int64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mt_proc_born_us(unsigned long long start_ticks)
{
	/* Start times count from boot, suspend included (CLOCK_BOOTTIME);
	 * the offset to the monotonic clock grows at each suspend, so it is
	 * read now, not once. */
	int64_t offset = clock_us(CLOCK_BOOTTIME) - clock_us(CLOCK_MONOTONIC);
	unsigned long long hz = (unsigned long long)clock_hz();

	return (int64_t)(start_ticks / hz * 1000000ULL + start_ticks % hz * 1000000ULL / hz) -
	       offset;
}

int64_t mt_proc_tick_us(void)
{
	return 1000000 / clock_hz();
}
