/* mtest: containment with cgroup v2 (include/mtest/base/cgroup.h). */
#include "mtest/base/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>	/* struct clone_args, CLONE_INTO_CGROUP */
#include <time.h>
#include <unistd.h>

#include "mtest/base/fsx.h"
#include "mtest/base/msg.h"

#define CGROUP2_MAGIC 0x63677270

#define CG_DEPTH 4	/* cgroups a test makes below its leaf, read this deep */

#define SAY(cg, ...) snprintf((cg)->why, sizeof (cg)->why, __VA_ARGS__)

/* ---- small files ------------------------------------------------------------ */

/* Read a whole small file from the start of fd (NUL-terminated). */
static ssize_t read_fd(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t r;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while (got < cap - 1) {
		r = read(fd, buf + got, cap - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

static ssize_t read_at(int dir, const char *name, char *buf, size_t cap)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -1;
	n = read_fd(fd, buf, cap);
	e = errno;
	close(fd);
	errno = e;
	return n;
}

/* One write of text, as the kernel's cgroup files want it. */
static int write_fd(int fd, const char *text)
{
	size_t n = strlen(text);
	ssize_t r;

	do
		r = write(fd, text, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return 0;
	if ((size_t)r != n) {
		errno = EIO;
		return 0;
	}
	return 1;
}

static int write_at(int dir, const char *name, const char *text)
{
	int fd = openat(dir, name, O_WRONLY | O_CLOEXEC);
	int ok, e;

	if (fd < 0)
		return 0;
	ok = write_fd(fd, text);
	e = errno;
	close(fd);
	errno = e;
	return ok;
}

static int64_t read_num_at(int dir, const char *name)
{
	char buf[64];
	char *end;
	long long v;

	if (read_at(dir, name, buf, sizeof buf) <= 0)
		return -1;
	if (strncmp(buf, "max", 3) == 0)
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 10);
	return end == buf || errno ? -1 : v;
}

static int is_cgroup2(const char *path)
{
	struct statfs f;

	return statfs(path, &f) == 0 && (unsigned long)f.f_type == CGROUP2_MAGIC;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pause_2ms(void)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- parsers ------------------------------------------------------------------ */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 1 < cap; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[k++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
}

/* Field i (from 0) of a space-separated line: its start and length. */
static const char *field(const char *line, int i, size_t *len)
{
	const char *p = line, *e;

	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return NULL;
		for (e = p; *e && *e != ' ' && *e != '\n'; e++)
			;
		if (i-- == 0) {
			*len = (size_t)(e - p);
			return p;
		}
		p = e;
	}
}

/* One line: "36 35 0:30 / /sys/fs/cgroup rw,... shared:9 - cgroup2 cgroup2 rw". */
static int mountinfo_line(const char *line, char *mount, size_t cap, char *root, size_t rootcap)
{
	const char *dash = strstr(line, " - "), *f;
	size_t n;

	if (!dash)
		return 0;
	f = field(dash + 3, 0, &n);
	if (!f || n != 7 || strncmp(f, "cgroup2", 7) != 0)
		return 0;
	if (!(f = field(line, 3, &n)))
		return 0;
	unescape(f, n, root, rootcap);
	if (!(f = field(line, 4, &n)))
		return 0;
	unescape(f, n, mount, cap);
	return 1;
}

int mt_cgroup_parse_mountinfo(const char *text, char *mount, size_t cap, char *root,
			      size_t rootcap)
{
	const char *line;

	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (mountinfo_line(line, mount, cap, root, rootcap))
			return 1;
	return 0;
}

int mt_cgroup_parse_self(const char *text, char *path, size_t cap)
{
	const char *line, *end;
	size_t n;

	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		end = strchr(line, '\n');
		n = end ? (size_t)(end - line - 3) : strlen(line + 3);
		if (n >= cap || n == 0)
			return 0;
		memcpy(path, line + 3, n);
		path[n] = '\0';
		return path[0] == '/';
	}
	return 0;
}

int mt_cgroup_parse_kv(const char *text, const char *key, uint64_t *out)
{
	size_t k = strlen(key);
	const char *line;
	char *end;

	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, k) != 0 || line[k] != ' ')
			continue;
		errno = 0;
		*out = strtoull(line + k + 1, &end, 10);
		return end != line + k + 1 && !errno;
	}
	return 0;
}

/* ---- finding the subtree ------------------------------------------------------ */

/* The cgroup2 mount, read from /proc/self/mountinfo a chunk at a time. */
static int find_mount(struct mt_cgroup *cg, char *root, size_t rootcap)
{
	static char chunk[8192], line[MT_PATH_MAX + 512];
	size_t len = 0, keep;
	ssize_t r;
	char *nl, *p;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC), found = 0;

	if (fd < 0)
		return 0;
	while (!found && (r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (p = chunk; p < chunk + r && !found;) {
			nl = memchr(p, '\n', (size_t)(chunk + r - p));
			keep = (size_t)((nl ? nl : chunk + r) - p);
			if (len + keep < sizeof line) {
				memcpy(line + len, p, keep);
				len += keep;
			} else {
				len = sizeof line;	/* too long: not a mount we want */
			}
			if (!nl)
				break;
			if (len < sizeof line) {
				line[len] = '\0';
				found = mountinfo_line(line, cg->mount, sizeof cg->mount, root, rootcap);
			}
			len = 0;
			p = nl + 1;
		}
	}
	close(fd);
	return found;
}

/* Our own cgroup's directory, from /proc/self/cgroup and the mount's root. */
static int own_cgroup(struct mt_cgroup *cg, const char *root)
{
	char text[4096], path[MT_PATH_MAX];
	size_t rl = strlen(root);

	if (mt_read_file("/proc/self/cgroup", text, sizeof text) < 0 ||
	    !mt_cgroup_parse_self(text, path, sizeof path)) {
		SAY(cg, "mtest's cgroup v2 is not in /proc/self/cgroup");
		return 0;
	}
	/* A mount of a subtree (root not "/") shows only what is below it. */
	if (strcmp(root, "/") != 0) {
		if (strncmp(path, root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0')) {
			SAY(cg, "mtest's cgroup %.200s is outside the cgroup2 mount of %.100s", path,
			    root);
			return 0;
		}
		memmove(path, path + rl, strlen(path + rl) + 1);
	}
	if (snprintf(cg->base, sizeof cg->base, "%s%s", cg->mount,
		     strcmp(path, "/") == 0 ? "" : path) >= (int)sizeof cg->base) {
		SAY(cg, "mtest's cgroup path is too long");
		return 0;
	}
	return 1;
}

static int pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* rmdir a cgroup, waiting a bounded while for its last processes to go. */
static int rmdir_cg(const char *path)
{
	int pass;

	for (pass = 0; pass < MT_SWEEP_PASSES; pass++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 1;
		if (errno != EBUSY)
			return 0;
		pause_2ms();
	}
	return 0;
}

/* rmdir a cgroup and those below it (a test may have made some), deepest
 * first, each waited for a bounded while. */
static int rmdir_tree(const char *path, int depth)
{
	static struct mt_dir d[CG_DEPTH + 1];
	static char sub[CG_DEPTH + 1][MT_PATH_MAX + 64];
	const char *name;
	unsigned char type;
	int ok = 1;

	if (depth <= CG_DEPTH && mt_dir_open(&d[depth], AT_FDCWD, path)) {
		while ((name = mt_dir_next(&d[depth], &type))) {
			if (type != DT_DIR)
				continue;
			snprintf(sub[depth], sizeof sub[depth], "%s/%s", path, name);
			ok &= rmdir_tree(sub[depth], depth + 1);
		}
		mt_dir_close(&d[depth]);
	}
	return rmdir_cg(path) && ok;
}

/* A run's cgroup and its leaves: killed, emptied, removed. */
static int remove_run(const char *path)
{
	static struct mt_dir d;
	const char *name;
	unsigned char type;
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return errno == ENOENT;
	if (!write_at(dfd, "cgroup.kill", "1") && errno == ENOENT && mt_dir_open(&d, dfd, ".")) {
		/* No cgroup.kill: each member of each leaf. */
		while ((name = mt_dir_next(&d, &type))) {
			static char pids[16384];
			char *p, *end;
			long pid;
			int leaf;

			if (type != DT_DIR ||
			    (leaf = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
				continue;
			if (read_at(leaf, "cgroup.procs", pids, sizeof pids) > 0)
				for (p = pids; (pid = strtol(p, &end, 10)) > 0; p = end)
					kill((pid_t)pid, SIGKILL);
			close(leaf);
		}
		mt_dir_close(&d);
	}
	close(dfd);
	return rmdir_tree(path, 0);
}

/* Cgroups of earlier runs whose mtest is dead (killed -9, a power cut):
 * what is still in them is ended, and they are removed. */
static void remove_stale(struct mt_cgroup *cg)
{
	static struct mt_dir d;
	static char path[MT_PATH_MAX + 64];
	const char *name;
	unsigned char type;
	char *end;
	long pid;

	if (!mt_dir_open(&d, AT_FDCWD, cg->base))
		return;
	while ((name = mt_dir_next(&d, &type))) {
		if (type != DT_DIR || strncmp(name, "mtest-", 6) != 0)
			continue;
		pid = strtol(name + 6, &end, 10);
		if (end == name + 6 || pid <= 0 || (*end && strcmp(end, "-self") != 0))
			continue;
		if (pid_alive((pid_t)pid) && pid != getpid())
			continue;
		if (snprintf(path, sizeof path, "%s/%s", cg->base, name) >= (int)sizeof path)
			continue;
		if (*end)
			rmdir(path);	/* a dead mtest's own: empty, or someone's */
		else if (remove_run(path))
			cg->stale++;
	}
	mt_dir_close(&d);
}

/* Is our process the only one in the cgroup at dir? */
static int alone_in(const char *dir)
{
	char path[MT_PATH_MAX + 32], text[256], *nl;
	ssize_t n;

	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	n = mt_read_file(path, text, sizeof text);
	if (n <= 0 || atoi(text) != getpid())
		return 0;
	nl = strchr(text, '\n');
	return !nl || !nl[1];
}

/* Is each controller of `want` ("memory cpu io") in the space-separated
 * list `have`? Returns the MT_CG_* bits found. */
static unsigned controllers(const char *have)
{
	static const struct { const char *name; unsigned bit; } c[] = {
		{ "memory", MT_CG_MEMORY }, { "cpu", MT_CG_CPU }, { "io", MT_CG_IO },
	};
	unsigned bits = 0, k;
	size_t n;
	const char *p;

	for (k = 0; k < sizeof c / sizeof c[0]; k++) {
		n = strlen(c[k].name);
		for (p = have; (p = strstr(p, c[k].name)); p += n)
			if ((p == have || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n])) {
				bits |= c[k].bit;
				break;
			}
	}
	return bits;
}

static const char *controller_name(unsigned bit)
{
	return bit == MT_CG_MEMORY ? "memory" : bit == MT_CG_CPU ? "cpu" : "io";
}

/* Controllers for the run's cgroup: enabled in BASE's subtree_control,
 * where mtest may (never in the hierarchy's root: that is the machine's).
 * Returns the bits the run's cgroup can use. */
static unsigned base_controllers(struct mt_cgroup *cg, unsigned want, char *why, size_t cap)
{
	char text[512], path[MT_PATH_MAX + 32], cmd[16];
	unsigned have, avail, bit;
	int self;

	snprintf(path, sizeof path, "%s/cgroup.subtree_control", cg->base);
	have = mt_read_file(path, text, sizeof text) >= 0 ? controllers(text) : 0;
	if (!(want & ~have))
		return have;
	snprintf(path, sizeof path, "%s/cgroup.controllers", cg->base);
	avail = mt_read_file(path, text, sizeof text) >= 0 ? controllers(text) : 0;
	if (!(want & ~have & avail) || strcmp(cg->base, cg->mount) == 0) {
		unsigned miss = want & ~have, b = MT_CG_MEMORY;

		while (!(miss & b))
			b <<= 1;
		if (avail & b)
			snprintf(why, cap, "%s not in %s/cgroup.subtree_control, the hierarchy's "
				 "root, which mtest leaves alone", controller_name(b), cg->base);
		else
			snprintf(why, cap, "%s not in %s/cgroup.controllers", controller_name(b),
				 cg->base);
		return have;
	}
	/* A cgroup with processes of its own cannot give controllers to its
	 * children: mtest leaves it for one of its own, if it is alone. */
	if (!alone_in(cg->base)) {
		snprintf(why, cap, "other processes share mtest's cgroup %s, which so cannot give "
			 "controllers (systemd's Delegate=yes gives mtest one of its own)", cg->base);
		return have;
	}
	snprintf(path, sizeof path, "%s/mtest-%d-self", cg->base, (int)getpid());
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		snprintf(why, cap, "cannot create %s: %s", path, mt_strerror(errno));
		return have;
	}
	snprintf(path + strlen(path), sizeof path - strlen(path), "/cgroup.procs");
	self = open(path, O_WRONLY | O_CLOEXEC);
	if (self < 0 || !write_fd(self, "0")) {
		snprintf(why, cap, "cannot move mtest into its own cgroup %s: %s", path,
			 mt_strerror(errno));
		if (self >= 0)
			close(self);
		return have;
	}
	close(self);
	cg->have |= MT_CG_MOVED;
	snprintf(path, sizeof path, "%s/cgroup.subtree_control", cg->base);
	for (bit = MT_CG_MEMORY; bit <= MT_CG_IO; bit <<= 1) {
		int fd;

		if (!(want & ~have & avail & bit))
			continue;
		snprintf(cmd, sizeof cmd, "+%s", controller_name(bit));
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0 && write_fd(fd, cmd))
			have |= bit;
		else if (!*why)
			snprintf(why, cap, "cannot enable %s in %s: %s", controller_name(bit), path,
				 mt_strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return have;
}

/* ---- the run's cgroups ------------------------------------------------------------ */

static void leaf_name(int leaf, char *out, size_t cap)
{
	if (leaf == MT_CG_ZYGOTE)
		snprintf(out, cap, "zygote");
	else
		snprintf(out, cap, "lane-%d", leaf + 1);
}

static int open_leaf(struct mt_cgroup *cg, int i)
{
	struct mt_cg_leaf *f = &cg->leaf[i];
	char name[16];

	leaf_name(i, name, sizeof name);
	if (mkdirat(cg->run_dir, name, 0755) < 0 && errno != EEXIST)
		return 0;
	f->dir = openat(cg->run_dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dir < 0)
		return 0;
	f->procs = openat(f->dir, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	f->join = openat(f->dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (f->procs < 0 || f->join < 0)
		return 0;
	f->kill = openat(f->dir, "cgroup.kill", O_WRONLY | O_CLOEXEC);
	return 1;
}

static void close_leaf(struct mt_cg_leaf *f)
{
	close_fd(&f->dir);
	close_fd(&f->procs);
	close_fd(&f->join);
	close_fd(&f->kill);
}

/* Can a process of ours join a leaf, as a worker will (it writes "0")? */
static int probe_join(struct mt_cgroup *cg)
{
	int status, fd = cg->leaf[MT_CG_ZYGOTE].join, born_in;
	pid_t pid = mt_cgroup_fork(cg, MT_CG_ZYGOTE, &born_in);

	if (pid < 0)
		return 0;
	if (pid == 0)
		_exit(born_in || write(fd, "0", 1) == 1 ? 0 : errno & 0xff);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	errno = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
	return 0;
}

static void limit(int dir, const char *file, int64_t v, char *bad, size_t cap)
{
	char num[32];

	if (v < 0)
		return;
	snprintf(num, sizeof num, "%lld", (long long)v);
	if (!write_at(dir, file, num) && !*bad)
		snprintf(bad, cap, "cannot set %s to %s: %s", file, num, mt_strerror(errno));
}

/* Limits of the run and of each lane; what cannot be set is said once. */
static void set_limits(struct mt_cgroup *cg)
{
	const struct mt_cg_limits *l = &cg->lim;
	char num[32], *bad = cg->limits_why;
	size_t cap = sizeof cg->limits_why;
	int i;

	if (cg->have & MT_CG_MEMORY) {
		limit(cg->run_dir, "memory.max", l->memory_max, bad, cap);
		limit(cg->run_dir, "memory.high", l->memory_high, bad, cap);
		for (i = 0; i < MT_CG_LEAVES; i++) {
			if (cg->leaf[i].dir < 0)
				continue;
			/* An OOM kill in a lane ends the lane's whole tree (its
			 * worker with it), not one process of it. */
			if (!write_at(cg->leaf[i].dir, "memory.oom.group", "1") && !*bad)
				snprintf(bad, cap, "cannot set memory.oom.group: %s",
					 mt_strerror(errno));
			if (i == MT_CG_ZYGOTE)
				continue;
			limit(cg->leaf[i].dir, "memory.max", l->lane_memory_max, bad, cap);
			limit(cg->leaf[i].dir, "memory.high", l->lane_memory_high, bad, cap);
		}
	} else if (l->memory_max > 0 || l->memory_high > 0 || l->lane_memory_max > 0 ||
		   l->lane_memory_high > 0) {
		if (!*bad)
			snprintf(bad, cap, "memory limits not applied: no memory controller");
	}
	if (l->cpu_weight > 0 && (cg->have & MT_CG_CPU)) {
		snprintf(num, sizeof num, "%d", l->cpu_weight);
		if (!write_at(cg->run_dir, "cpu.weight", num) && !*bad)
			snprintf(bad, cap, "cannot set cpu.weight: %s", mt_strerror(errno));
	} else if (l->cpu_weight > 0 && !*bad) {
		snprintf(bad, cap, "cpu_weight not applied: no cpu controller");
	}
	if (l->io_weight > 0 && (cg->have & MT_CG_IO)) {
		snprintf(num, sizeof num, "default %d", l->io_weight);
		if (!write_at(cg->run_dir, "io.weight", num) && !*bad)
			snprintf(bad, cap, "cannot set io.weight: %s (the disk's io scheduler "
				 "decides: BFQ, or blk-iocost)", mt_strerror(errno));
	} else if (l->io_weight > 0 && !*bad) {
		snprintf(bad, cap, "io_weight not applied: no io controller");
	}
}

/* What the kernel offers in the run's subtree. */
static void features(struct mt_cgroup *cg)
{
	int fd;

	if (faccessat(cg->run_dir, "cgroup.kill", F_OK, 0) == 0)
		cg->have |= MT_CG_KILL;
	if (!(cg->have & MT_CG_MEMORY))
		return;
	if (faccessat(cg->leaf[MT_CG_ZYGOTE].dir, "memory.peak", F_OK, 0) == 0)
		cg->have |= MT_CG_PEAK;
	/* Linux 6.12: a write resets the peak as seen through that descriptor. */
	fd = openat(cg->leaf[MT_CG_ZYGOTE].dir, "memory.peak", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		if (write_fd(fd, "reset\n"))
			cg->have |= MT_CG_PEAK_RESET;
		close(fd);
	}
}

static void give_up(struct mt_cgroup *cg)
{
	int i;

	for (i = 0; i < MT_CG_LEAVES; i++)
		close_leaf(&cg->leaf[i]);
	close_fd(&cg->run_dir);
	if (cg->run[0])
		remove_run(cg->run);
	cg->run[0] = '\0';
	cg->on = 0;
}

int mt_cgroup_open(struct mt_cgroup *cg, const char *want, const struct mt_cg_limits *lim,
		   int nlanes)
{
	char root[MT_PATH_MAX], text[512], why[256] = "";
	unsigned need = MT_CG_MEMORY;
	size_t ml;
	int i;

	cg->on = cg->lost = 0;
	cg->have = 0;
	cg->stale = 0;
	cg->run[0] = cg->why[0] = cg->limits_why[0] = cg->base[0] = cg->mount[0] = '\0';
	cg->run_dir = -1;
	cg->run_oom = 0;
	cg->nleaves = nlanes < MT_LANES_MAX ? nlanes : MT_LANES_MAX;
	cg->lim = *lim;
	for (i = 0; i < MT_CG_LEAVES; i++)
		cg->leaf[i] = (struct mt_cg_leaf){ .dir = -1, .procs = -1, .join = -1, .kill = -1 };
	if (want && strcmp(want, "off") == 0) {
		SAY(cg, "cgroup = off");
		return 0;
	}
	if (!find_mount(cg, root, sizeof root)) {
		SAY(cg, "no cgroup v2 hierarchy is mounted");
		return 0;
	}
	ml = strlen(cg->mount);
	if (want && *want && strcmp(want, "auto") != 0) {
		if (want[0] != '/' || !is_cgroup2(want)) {
			SAY(cg, "%.300s is not a cgroup v2 directory", want);
			return 0;
		}
		if (strncmp(want, cg->mount, ml) != 0 || (want[ml] != '/' && want[ml] != '\0')) {
			SAY(cg, "%.300s is not below the cgroup v2 mount %.300s", want, cg->mount);
			return 0;
		}
		snprintf(cg->base, sizeof cg->base, "%s", want);
	} else if (!own_cgroup(cg, root)) {
		return 0;
	}
	remove_stale(cg);
	if (snprintf(cg->run, sizeof cg->run, "%s/mtest-%d", cg->base, (int)getpid()) >=
	    (int)sizeof cg->run) {
		SAY(cg, "the cgroup path %.200s is too long", cg->base);
		cg->run[0] = '\0';
		return 0;
	}
	/* The run as /proc/PID/cgroup names it: below the mount's root. */
	if (snprintf(cg->procpath, sizeof cg->procpath, "%s%s", strcmp(root, "/") == 0 ? "" : root,
		     cg->run + ml) >= (int)sizeof cg->procpath) {
		SAY(cg, "the cgroup path %.200s is too long", cg->base);
		cg->run[0] = '\0';
		return 0;
	}
	if (mkdir(cg->run, 0755) < 0) {
		SAY(cg, "cannot create a cgroup in %.300s: %s", cg->base, mt_strerror(errno));
		cg->run[0] = '\0';
		return 0;
	}
	if (lim->cpu_weight > 0)
		need |= MT_CG_CPU;
	if (lim->io_weight > 0)
		need |= MT_CG_IO;
	cg->have |= base_controllers(cg, need, why, sizeof why);
	cg->have &= ~(unsigned)((MT_CG_CPU | MT_CG_IO) & ~need);
	cg->run_dir = open(cg->run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->run_dir < 0) {
		SAY(cg, "cannot open %.300s: %s", cg->run, mt_strerror(errno));
		give_up(cg);
		return 0;
	}
	/* The run hands its controllers down to the leaves. */
	if (read_at(cg->run_dir, "cgroup.controllers", text, sizeof text) >= 0) {
		unsigned bit, got = controllers(text) & need, on = 0;

		for (bit = MT_CG_MEMORY; bit <= MT_CG_IO; bit <<= 1) {
			char cmd[16];

			snprintf(cmd, sizeof cmd, "+%s", controller_name(bit));
			if ((got & bit) && write_at(cg->run_dir, "cgroup.subtree_control", cmd))
				on |= bit;
		}
		cg->have = (cg->have & ~(unsigned)(MT_CG_MEMORY | MT_CG_CPU | MT_CG_IO)) | on;
	}
	if (!(cg->have & MT_CG_MEMORY) && !why[0])
		snprintf(why, sizeof why, "no memory controller in %s", cg->base);
	for (i = 0; i < MT_CG_LEAVES; i++) {
		if (i != MT_CG_ZYGOTE && i >= cg->nleaves)
			continue;
		if (!open_leaf(cg, i)) {
			SAY(cg, "cannot create the cgroups of the run in %.300s: %s", cg->run,
			    mt_strerror(errno));
			give_up(cg);
			return 0;
		}
	}
	if (!probe_join(cg)) {
		SAY(cg, "cannot move a process into %.300s/zygote: %s", cg->run, mt_strerror(errno));
		give_up(cg);
		return 0;
	}
	features(cg);
	set_limits(cg);
	/* Memory limits asked for without a memory controller: say why. */
	if (!(cg->have & MT_CG_MEMORY) && why[0] &&
	    (lim->memory_max > 0 || lim->memory_high > 0 || lim->lane_memory_max > 0 ||
	     lim->lane_memory_high > 0))
		snprintf(cg->limits_why, sizeof cg->limits_why, "memory limits not applied: %s", why);
	snprintf(cg->why, sizeof cg->why, "%s", why);
	for (i = 0; i < MT_CG_LEAVES; i++)
		if (cg->leaf[i].dir >= 0)
			mt_cgroup_oom_mark(cg, i);
	cg->on = 1;
	return 1;
}

void mt_cgroup_describe(const struct mt_cgroup *cg, char *out, size_t cap)
{
	char a[32], b[32];
	size_t n;

	if (!cg->on) {
		snprintf(out, cap, "found through /proc (%s)", cg->why);
		return;
	}
	n = (size_t)snprintf(out, cap, "held by cgroup v2 in %s (%s)", cg->run,
			     cg->have & MT_CG_KILL ? "cgroup.kill" : "no cgroup.kill: SIGKILL each");
	if (n >= cap)
		return;
	if (cg->have & MT_CG_MEMORY) {
		if (cg->have & MT_CG_PEAK_RESET)
			n += (size_t)snprintf(out + n, cap - n, "; each test's peak from memory.peak");
		if (n < cap && cg->lim.lane_memory_max > 0) {
			mt_size_text(cg->lim.lane_memory_max, a, sizeof a);
			n += (size_t)snprintf(out + n, cap - n, "; lane memory limit %s", a);
		}
		if (n < cap && cg->lim.memory_max > 0) {
			mt_size_text(cg->lim.memory_max, b, sizeof b);
			n += (size_t)snprintf(out + n, cap - n, "; run memory limit %s", b);
		}
	} else if (n < cap) {
		n += (size_t)snprintf(out + n, cap - n, "; no memory controller%s%s%s",
				      cg->why[0] ? " (" : "", cg->why, cg->why[0] ? ")" : "");
	}
}

int mt_cgroup_join_fd(const struct mt_cgroup *cg, int leaf)
{
	if (!mt_cgroup_held(cg) || leaf < 0 || leaf >= MT_CG_LEAVES)
		return -1;
	return cg->leaf[leaf].join;
}

pid_t mt_cgroup_fork(const struct mt_cgroup *cg, int leaf, int *born_in)
{
	*born_in = 0;
#if defined(SYS_clone3) && defined(CLONE_INTO_CGROUP)
	/* Not mt_cgroup_held(): the probe of the leaves comes before it. */
	if (!cg->lost && leaf >= 0 && leaf < MT_CG_LEAVES && cg->leaf[leaf].dir >= 0 &&
	    !cg->leaf[leaf].killed) {
		struct clone_args a;
		long pid;

		memset(&a, 0, sizeof a);
		a.flags = CLONE_INTO_CGROUP;
		a.exit_signal = SIGCHLD;
		a.cgroup = (uint64_t)cg->leaf[leaf].dir;
		pid = syscall(SYS_clone3, &a, sizeof a);
		if (pid >= 0) {
			*born_in = 1;
			return (pid_t)pid;
		}
		/* ENOSYS, E2BIG, EINVAL: older kernels; any other error is
		 * the join's too, and said by it. */
	}
#else
	(void)cg;
	(void)leaf;
#endif
	return fork();
}

int mt_cgroup_join(const struct mt_cgroup *cg, int leaf, pid_t pid)
{
	char num[24];
	int fd = mt_cgroup_join_fd(cg, leaf);

	if (fd < 0) {
		errno = EBADF;
		return 0;
	}
	snprintf(num, sizeof num, "%d", (int)pid);
	return write_fd(fd, num);
}

/* The pids in one cgroup.procs (fd), appended to out[*n]. */
static int read_pids(int fd, pid_t *out, int max, int *n, int *more)
{
	static char chunk[4096];
	long cur = -1;
	ssize_t r, k;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return 0;
	/* A number at a time, across chunks: a leaf may hold thousands. */
	while ((r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		for (k = 0; k < r; k++) {	/* a number may go on in the next chunk */
			if (chunk[k] >= '0' && chunk[k] <= '9') {
				cur = (cur < 0 ? 0 : cur * 10) + (chunk[k] - '0');
				continue;
			}
			if (cur > 0) {
				if (*n < max)
					out[(*n)++] = (pid_t)cur;
				else
					*more = 1;
			}
			cur = -1;
		}
	}
	if (cur > 0) {
		if (*n < max)
			out[(*n)++] = (pid_t)cur;
		else
			*more = 1;
	}
	return 1;
}

/* The members of the cgroups below dir (a test may make its own there:
 * they are still its lane's). */
static void below(int dir, int depth, pid_t *out, int max, int *n, int *more)
{
	static struct mt_dir d[CG_DEPTH];
	const char *name;
	unsigned char type;
	int sub, fd;

	if (depth >= CG_DEPTH || !mt_dir_open(&d[depth], dir, "."))
		return;
	while ((name = mt_dir_next(&d[depth], &type))) {
		if (type != DT_DIR || (sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		fd = openat(sub, "cgroup.procs", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			read_pids(fd, out, max, n, more);
			close(fd);
		}
		below(sub, depth + 1, out, max, n, more);
		close(sub);
	}
	mt_dir_close(&d[depth]);
}

int mt_cgroup_pids(const struct mt_cgroup *cg, int leaf, pid_t *out, int max, int *more)
{
	int n = 0;

	*more = 0;
	if (!mt_cgroup_held(cg) || leaf < 0 || leaf >= MT_CG_LEAVES || cg->leaf[leaf].procs < 0) {
		errno = EBADF;
		return -1;
	}
	if (!read_pids(cg->leaf[leaf].procs, out, max, &n, more))
		return -1;
	below(cg->leaf[leaf].dir, 0, out, max, &n, more);
	return n;
}

int mt_cgroup_has(const struct mt_cgroup *cg, int leaf, pid_t pid)
{
	char path[64], text[MT_PATH_MAX], own[MT_PATH_MAX], mine[MT_PATH_MAX + 16], name[16];

	if (!cg->on || leaf < 0 || leaf >= MT_CG_LEAVES)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	if (mt_read_file(path, text, sizeof text) < 0 ||
	    !mt_cgroup_parse_self(text, own, sizeof own))
		return 0;
	leaf_name(leaf, name, sizeof name);
	snprintf(mine, sizeof mine, "%s/%s", cg->procpath, name);
	/* The leaf, or a cgroup a test made below it. */
	return strncmp(own, mine, strlen(mine)) == 0 &&
	       (own[strlen(mine)] == '\0' || own[strlen(mine)] == '/');
}

int mt_cgroup_kill(struct mt_cgroup *cg, int leaf)
{
	static pid_t pids[MT_PROCS_MAX];
	int n, more, i;

	n = mt_cgroup_pids(cg, leaf, pids, MT_PROCS_MAX, &more);
	if (n <= 0)
		return n;
	cg->leaf[leaf].killed = 1;
	if (cg->leaf[leaf].kill >= 0 && write_fd(cg->leaf[leaf].kill, "1"))
		return n;
	/* No cgroup.kill (before Linux 5.14): each member, pinned by a pidfd
	 * and checked to be a member still, so that a reused pid is spared. */
	for (i = 0; i < n; i++) {
#ifdef SYS_pidfd_open
		int fd = (int)syscall(SYS_pidfd_open, pids[i], 0);

		if (fd >= 0) {
			if (mt_cgroup_has(cg, leaf, pids[i]) &&
			    syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0 && errno == ENOSYS)
				kill(pids[i], SIGKILL);
			close(fd);
			continue;
		}
		if (errno != ENOSYS)
			continue;	/* gone */
#endif
		kill(pids[i], SIGKILL);
	}
	return n;
}

int mt_cgroup_mem(const struct mt_cgroup *cg, int leaf, struct mt_cg_mem *m)
{
	char text[1024];
	int dir = leaf == MT_CG_RUN ? cg->run_dir : leaf >= 0 && leaf < MT_CG_LEAVES ?
		  cg->leaf[leaf].dir : -1;

	m->current = m->peak = m->max = m->high = -1;
	m->oom = m->oom_kill = 0;
	if (!cg->on || !(cg->have & MT_CG_MEMORY) || dir < 0)
		return 0;
	m->current = read_num_at(dir, "memory.current");
	m->peak = read_num_at(dir, "memory.peak");
	m->max = read_num_at(dir, "memory.max");
	m->high = read_num_at(dir, "memory.high");
	if (read_at(dir, "memory.events", text, sizeof text) > 0) {
		mt_cgroup_parse_kv(text, "oom", &m->oom);
		mt_cgroup_parse_kv(text, "oom_kill", &m->oom_kill);
	}
	return 1;
}

void mt_cgroup_oom_mark(struct mt_cgroup *cg, int leaf)
{
	struct mt_cg_mem m;

	if (mt_cgroup_mem(cg, leaf, &m)) {
		cg->leaf[leaf].oom_kill = m.oom_kill;
		cg->leaf[leaf].oom = m.oom;
	}
	if (mt_cgroup_mem(cg, MT_CG_RUN, &m))
		cg->run_oom = m.oom;
}

int mt_cgroup_oom_since(struct mt_cgroup *cg, int leaf, int *lane_limit, int *run_limit)
{
	struct mt_cg_mem m, r;
	int killed;

	*lane_limit = *run_limit = 0;
	if (leaf < 0 || leaf >= MT_CG_LEAVES || !mt_cgroup_mem(cg, leaf, &m))
		return 0;
	killed = m.oom_kill > cg->leaf[leaf].oom_kill;
	*lane_limit = m.oom > cg->leaf[leaf].oom;
	if (mt_cgroup_mem(cg, MT_CG_RUN, &r)) {
		*run_limit = !*lane_limit && r.oom > cg->run_oom;
		cg->run_oom = r.oom;
	}
	cg->leaf[leaf].oom_kill = m.oom_kill;
	cg->leaf[leaf].oom = m.oom;
	return killed;
}

int mt_cgroup_close(struct mt_cgroup *cg)
{
	char path[MT_PATH_MAX + 32], name[16];
	int i, ok = 1;

	if (!cg->on)
		return 1;
	cg->lost = 0;	/* given up or not, what is in them ends now */
	for (i = 0; i < MT_CG_LEAVES; i++)
		if (cg->leaf[i].dir >= 0)
			mt_cgroup_kill(cg, i);
	for (i = 0; i < MT_CG_LEAVES; i++) {
		if (cg->leaf[i].dir < 0)
			continue;
		close_leaf(&cg->leaf[i]);
		leaf_name(i, name, sizeof name);
		snprintf(path, sizeof path, "%s/%s", cg->run, name);
		if (!rmdir_tree(path, 1) && ok) {
			SAY(cg, "cannot remove %s: %s", path, mt_strerror(errno));
			ok = 0;
		}
	}
	close_fd(&cg->run_dir);
	if (ok && !rmdir_cg(cg->run)) {
		SAY(cg, "cannot remove %s: %s", cg->run, mt_strerror(errno));
		ok = 0;
	}
	cg->on = 0;
	return ok;
}
