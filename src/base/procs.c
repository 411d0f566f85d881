/* mtest: /proc scanning and sweeping. Scans read into static tables (the
 * supervisor never allocates); a sweep may run between two workers. */
#include "mtest/base/procs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mtest/base/fsx.h"
#include "mtest/limits.h"

static int is_pid(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int mt_procs_scan(struct mt_proc *out, int max, int *more)
{
	static struct mt_dir d;
	const char *name;
	int n = 0;

	*more = 0;
	if (!mt_dir_open(&d, AT_FDCWD, "/proc"))
		return 0;
	while ((name = mt_dir_next(&d, NULL))) {
		if (!is_pid(name))
			continue;
		if (n >= max) {
			*more = 1;
			break;
		}
		if (mt_proc_stat((pid_t)atoi(name), &out[n]))
			n++;
	}
	mt_dir_close(&d);
	return n;
}

/* pid -> index in a scan, open hashing over twice the table size. */
static int pid_slot[2 * MT_PROCS_MAX];

static void index_pids(const struct mt_proc *all, int n)
{
	unsigned mask = 2 * MT_PROCS_MAX - 1, h;
	int i;

	memset(pid_slot, 0, sizeof pid_slot);
	for (i = 0; i < n; i++) {
		for (h = (unsigned)all[i].pid * 2654435761u & mask; pid_slot[h];
		     h = (h + 1) & mask)
			;
		pid_slot[h] = i + 1;
	}
}

static int find_pid(const struct mt_proc *all, pid_t pid)
{
	unsigned mask = 2 * MT_PROCS_MAX - 1, h;

	for (h = (unsigned)pid * 2654435761u & mask; pid_slot[h]; h = (h + 1) & mask)
		if (all[pid_slot[h] - 1].pid == pid)
			return pid_slot[h] - 1;
	return -1;
}

int mt_procs_mark_descendants(const struct mt_proc *all, int n, pid_t root,
			      unsigned char *mark)
{
	/* mark: 0 unknown, 1 descendant, 2 not; walk up each chain once. */
	static int chain[MT_PROCS_MAX];
	int i, j, depth, count = 0, len;
	unsigned char verdict;

	index_pids(all, n);
	if (n <= 0)
		return 0;
	memset(mark, 0, (size_t)n);
	for (i = 0; i < n; i++) {
		len = 0;
		verdict = 2;
		for (j = i, depth = 0; j >= 0 && depth < n; depth++) {
			if (mark[j]) {
				verdict = mark[j];
				break;
			}
			if (all[j].pid == root || all[j].pid <= 1)
				break;
			chain[len++] = j;
			if (all[j].ppid == root) {
				verdict = 1;
				break;
			}
			j = find_pid(all, all[j].ppid);
		}
		while (len--)
			mark[chain[len]] = verdict;
	}
	for (i = 0; i < n; i++) {
		mark[i] = mark[i] == 1;
		count += mark[i];
	}
	return count;
}

static struct mt_proc scan_tab[MT_PROCS_MAX];
static unsigned char scan_mark[MT_PROCS_MAX];
static unsigned char spare_mark[MT_PROCS_MAX];
static pid_t reported[MT_PROCS_MAX];
static int nreported;

static int seen_before(pid_t pid)
{
	int i;

	for (i = 0; i < nreported; i++)
		if (reported[i] == pid)
			return 1;
	if (nreported < MT_PROCS_MAX)
		reported[nreported++] = pid;
	return 0;
}

/* SIGKILL the process seen in a scan, and no other: between the scan and
 * the kill its pid may have been freed and reused. A pidfd pins the
 * process; its start time says it is the one seen. */
static void kill_seen(const struct mt_proc *p)
{
#ifdef SYS_pidfd_open
	struct mt_proc now;
	int fd = (int)syscall(SYS_pidfd_open, p->pid, 0);

	if (fd >= 0) {
		if (mt_proc_stat(p->pid, &now) && now.start == p->start &&
		    syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
			kill(p->pid, SIGKILL);	/* no pidfd_send_signal: the old way */
		close(fd);
		return;
	}
	if (errno != ENOSYS)
		return;	/* gone already */
#endif
	kill(p->pid, SIGKILL);
}

static void pause_briefly(void)
{
	/* Let the kernel finish tearing down what was just killed. */
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

void mt_procs_sweep_begin(void)
{
	nreported = 0;
}

/* Is process i, or one of its ancestors below mtest, to be kept? */
static int kept(int i, pid_t self, mt_proc_keep_fn *keep, void *ctx)
{
	int depth;

	for (depth = 0; i >= 0 && depth < 64; depth++) {
		if (scan_tab[i].pid == self)
			return 0;
		if (keep(ctx, &scan_tab[i]))
			return 1;
		i = find_pid(scan_tab, scan_tab[i].ppid);
	}
	return 0;
}

int mt_procs_sweep_pass(pid_t spare, mt_proc_keep_fn *keep, mt_proc_fn *killed,
			mt_reap_fn *reap, void *ctx)
{
	pid_t self = getpid();
	int n, i, more, alive = 0;

	if (reap)
		reap(ctx);
	n = mt_procs_scan(scan_tab, MT_PROCS_MAX, &more);
	mt_procs_mark_descendants(scan_tab, n, self, scan_mark);
	if (spare > 0) {
		mt_procs_mark_descendants(scan_tab, n, spare, spare_mark);
		for (i = 0; i < n; i++)
			if (scan_tab[i].pid == spare || spare_mark[i])
				scan_mark[i] = 0;
	}
	for (i = 0; i < n; i++) {
		if (!scan_mark[i])
			continue;
		if (keep && kept(i, self, keep, ctx))
			continue;	/* another lane's */
		if (scan_tab[i].state == 'Z' && scan_tab[i].ppid == self)
			continue;	/* ours to reap, next pass */
		alive++;
		if (!seen_before(scan_tab[i].pid) && killed)
			killed(ctx, &scan_tab[i]);
		kill_seen(&scan_tab[i]);
	}
	/* Only zombies (or nothing) left: one more reap. */
	if (!alive && reap)
		reap(ctx);
	return alive;
}

int mt_procs_sweep_cgroup_pass(struct mt_cgroup *cg, int leaf, mt_proc_fn *killed,
			       mt_reap_fn *reap, void *ctx)
{
	static pid_t pids[MT_PROCS_MAX];
	struct mt_proc p;
	pid_t self = getpid();
	int n, i, more, alive = 0;

	if (reap)
		reap(ctx);
	n = mt_cgroup_pids(cg, leaf, pids, MT_PROCS_MAX, &more);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!mt_proc_stat(pids[i], &p))
			continue;	/* gone since */
		if (p.state == 'Z' && p.ppid == self)
			continue;	/* ours to reap, next pass */
		alive++;
		if (!seen_before(p.pid) && killed)
			killed(ctx, &p);
	}
	if (alive || more)
		mt_cgroup_kill(cg, leaf);
	if (!alive && reap)
		reap(ctx);
	return alive + more;
}

int mt_procs_sweep(pid_t spare, mt_proc_fn *killed, mt_reap_fn *reap, void *ctx)
{
	int pass, alive = 0;

	mt_procs_sweep_begin();
	for (pass = 0; pass < MT_SWEEP_PASSES; pass++) {
		alive = mt_procs_sweep_pass(spare, NULL, killed, reap, ctx);
		if (!alive)
			return 0;
		pause_briefly();
	}
	return alive;
}

void mt_procs_self_tag(char *out, unsigned cap)
{
	struct mt_proc me;

	if (!mt_proc_stat(getpid(), &me))
		me.start = 0;
	snprintf(out, cap, "%d:%llu", (int)getpid(), me.start);
}

/* Does the tag "PID:START" name a live process with that start time? */
static int tag_alive(const char *tag)
{
	char *end;
	long pid = strtol(tag, &end, 10);
	unsigned long long start;
	struct mt_proc p;

	if (end == tag || *end != ':' || pid <= 0)
		return 1;	/* not ours to judge */
	start = strtoull(end + 1, NULL, 10);
	return mt_proc_stat((pid_t)pid, &p) && p.start == start;
}

static int is_ancestor(pid_t pid)
{
	struct mt_proc p;
	pid_t cur = getpid();
	int depth;

	for (depth = 0; cur > 1 && depth < 64; depth++) {
		if (cur == pid)
			return 1;
		if (!mt_proc_stat(cur, &p))
			return 0;
		cur = p.ppid;
	}
	return 0;
}

int mt_procs_kill_stale(const char *var, mt_proc_fn *killed, void *ctx)
{
	static char env[65536];
	char path[64];
	size_t vlen = strlen(var);
	uid_t me = getuid();
	int n, i, more, total = 0, pass, found;
	struct stat st;
	ssize_t len;
	char *e;

	nreported = 0;
	for (pass = 0; pass < MT_SWEEP_PASSES; pass++) {
		n = mt_procs_scan(scan_tab, MT_PROCS_MAX, &more);
		found = 0;
		for (i = 0; i < n; i++) {
			pid_t pid = scan_tab[i].pid;

			snprintf(path, sizeof path, "/proc/%d", (int)pid);
			if (stat(path, &st) < 0 || st.st_uid != me)
				continue;
			snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
			len = mt_read_file(path, env, sizeof env);
			if (len <= 0)
				continue;
			for (e = env; e < env + len; e += strlen(e) + 1) {
				if (strncmp(e, var, vlen) != 0 || e[vlen] != '=')
					continue;
				if (!tag_alive(e + vlen + 1) && !is_ancestor(pid)) {
					if (!seen_before(pid)) {
						total++;
						if (killed)
							killed(ctx, &scan_tab[i]);
					}
					kill_seen(&scan_tab[i]);
					found++;
				}
				break;
			}
		}
		if (!found)
			break;
		pause_briefly();
	}
	return total;
}
