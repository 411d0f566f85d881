/* mtest: the state directory. */
#include "mtest/state/statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/base/msg.h"
#include "mtest/base/trust.h"

static const char *const root_markers[] = { "pytest.ini", "pyproject.toml",
					    "tox.ini", "setup.cfg" };

static int exists(const char *dir, const char *name)
{
	char p[MT_PATH_MAX];
	struct stat st;

	return snprintf(p, sizeof p, "%s/%s", dir, name) < (int)sizeof p &&
	       stat(p, &st) == 0;
}

/* Absolute form of a path that may not exist (node ids carry "::"). */
static int absolute(const char *path, char *out, size_t cap)
{
	char cwd[MT_PATH_MAX];

	if (path[0] == '/')
		return snprintf(out, cap, "%s", path) < (int)cap;
	if (!getcwd(cwd, sizeof cwd))
		return 0;
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (strcmp(path, ".") == 0 || !*path)
		return snprintf(out, cap, "%s", cwd) < (int)cap;
	return snprintf(out, cap, "%s/%s", cwd, path) < (int)cap;
}

int mt_suite_root(const char *start, char *out, size_t cap)
{
	char dir[MT_PATH_MAX], *cut;
	struct stat st;
	unsigned k;

	if (!absolute(start ? start : ".", dir, sizeof dir))
		return 0;
	cut = strstr(dir, "::");	/* a node id: its file */
	if (cut)
		*cut = '\0';
	/* Start from the directory: a file's parent. */
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cut = strrchr(dir, '/');
		if (cut && cut != dir)
			*cut = '\0';
	}
	snprintf(out, cap, "%s", dir);
	for (;;) {
		for (k = 0; k < sizeof root_markers / sizeof root_markers[0]; k++)
			if (exists(dir, root_markers[k]))
				return snprintf(out, cap, "%s", dir) < (int)cap;
		cut = strrchr(dir, '/');
		if (!cut || cut == dir)
			return 1;	/* none found: the starting directory */
		*cut = '\0';
	}
}

static int fill(struct mt_statedir *s, const char *dir, const char *how)
{
	if (!absolute(dir, s->dir, sizeof s->dir) ||
	    snprintf(s->last, sizeof s->last, "%s/last-run", s->dir) >= (int)sizeof s->last ||
	    snprintf(s->plugin, sizeof s->plugin, "%s/plugin", s->dir) >= (int)sizeof s->plugin) {
		mt_msg("state directory path too long: %s", dir);
		return 0;
	}
	s->run[0] = s->run_name[0] = s->plugin_at[0] = s->run_at[0] = '\0';
	s->how = how;
	s->fd = s->run_fd = s->plugin_fd = s->lock_fd = -1;
	return 1;
}

int mt_statedir_for_run(struct mt_statedir *s, const struct mt_opts *o)
{
	char root[MT_PATH_MAX], dir[MT_PATH_MAX];

	if (o->state_dir)
		return fill(s, o->state_dir, "chosen");
	if (!mt_suite_root(o->npaths ? o->paths[0] : ".", root, sizeof root) ||
	    snprintf(dir, sizeof dir, "%s/.gates", root) >= (int)sizeof dir) {
		mt_msg("cannot find the suite's root directory");
		return 0;
	}
	return fill(s, dir, "the suite's root");
}

/* The plugin that every worker imports lives here: opened by a path that
 * nobody but root and this user can change, and this user's own. */
static int hold(struct mt_statedir *s, int flags)
{
	char why[MT_PATH_MAX + 160];

	s->fd = mt_trust_open(s->dir, flags, 0755, why, sizeof why);
	if (s->fd >= 0)
		return 1;
	if (errno == EPERM)
		mt_msg("state directory %s: %s: refusing it%s", s->dir, why,
		       strstr(why, "writable by others") ? " (chmod go-w)" : "");
	else
		mt_msg("cannot use state directory %s: %s", s->dir, why);
	return 0;
}

/* "another run is in progress (pid N, since TIME)", from the lock's text. */
static void say_busy(const struct mt_statedir *s, int fd)
{
	char text[128], *sp;
	long pid;
	long long wall;
	ssize_t n = pread(fd, text, sizeof text - 1, 0);
	char when[40];
	struct mt_buf b;

	text[n > 0 ? n : 0] = '\0';
	pid = strtol(text, &sp, 10);
	wall = strtoll(sp, NULL, 10);
	mt_buf_init(&b, when, sizeof when, -1);
	if (wall > 0)
		mt_buf_utc(&b, wall);
	if (pid > 0)
		mt_msg("another run is in progress in %s (pid %ld, since %s)", s->dir, pid,
		       wall > 0 ? when : "?");
	else
		mt_msg("another run is in progress in %s", s->dir);
}

/* An old layout (last-run and prev-run as folders) becomes two runs. */
static void migrate(struct mt_statedir *s)
{
	static const char *const old[] = { "prev-run", "last-run" };
	char to[96];
	struct stat st;
	unsigned k;

	for (k = 0; k < 2; k++) {
		if (fstatat(s->fd, old[k], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (mkdirat(s->fd, "runs", 0755) < 0 && errno != EEXIST)
			return;
		snprintf(to, sizeof to, "runs/%lld-%s", (long long)st.st_mtime, old[k]);
		if (renameat(s->fd, old[k], s->fd, to) < 0)
			mt_msg_sys("cannot move %s/%s to %s/%s", s->dir, old[k], s->dir, to);
	}
}

int mt_statedir_open(struct mt_statedir *s, int *usage)
{
	char text[64];
	int n;

	*usage = 1;
	if (s->fd >= 0)
		close(s->fd);	/* found for reading: opened again as the writer */
	if (!hold(s, MT_TRUST_CREATE | MT_TRUST_OWN))
		return 0;
	*usage = 0;
	s->lock_fd = openat(s->fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			    0644);
	if (s->lock_fd < 0) {
		mt_msg_sys("cannot open %s/lock", s->dir);
		return 0;
	}
	if (!mt_lock_take(s->lock_fd)) {
		if (errno == EWOULDBLOCK) {
			say_busy(s, s->lock_fd);
			*usage = 2;
		} else {
			mt_msg_sys("cannot lock %s/lock", s->dir);
		}
		return 0;
	}
	/* Who holds it, for the next one that finds it taken. */
	n = snprintf(text, sizeof text, "%d %lld\n", (int)getpid(), (long long)mt_wall_us());
	if (ftruncate(s->lock_fd, 0) < 0 || pwrite(s->lock_fd, text, (size_t)n, 0) != n) {
		mt_msg_sys("cannot write %s/lock", s->dir);
		return 0;
	}
	migrate(s);
	return 1;
}

/* A folder below an open one, never through a link; *fd replaced. */
static int sub(int at, const char *name, int *fd)
{
	int f = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (f < 0)
		return 0;
	if (*fd >= 0)
		close(*fd);
	*fd = f;
	return 1;
}

/* /proc/<our pid>/fd/<fd>: the held directory, for another process. */
static void proc_path(char *out, size_t cap, int fd)
{
	snprintf(out, cap, "/proc/%d/fd/%d", (int)getpid(), fd);
}

int mt_statedir_plugin(struct mt_statedir *s)
{
	struct stat there, held;

	/* Fresh each run: nothing planted in it (a __pycache__) survives. */
	if (!mt_rmtree_at(s->fd, "plugin") || mkdirat(s->fd, "plugin", 0700) < 0 ||
	    !sub(s->fd, "plugin", &s->plugin_fd)) {
		mt_msg_sys("cannot make %s", s->plugin);
		return 0;
	}
	proc_path(s->plugin_at, sizeof s->plugin_at, s->plugin_fd);
	/* The workers go through /proc: it must show this process (a /proc
	 * of another PID namespace would name someone else's descriptor). */
	if (stat(s->plugin_at, &there) < 0 || fstat(s->plugin_fd, &held) < 0 ||
	    there.st_dev != held.st_dev || there.st_ino != held.st_ino) {
		mt_msg("cannot reach the plugin folder mtest holds as %s (is /proc this PID "
		       "namespace's?)", s->plugin_at);
		return 0;
	}
	return 1;
}

int mt_statedir_new_run(struct mt_statedir *s, int64_t start_wall_us)
{
	char stamp[40], *p, *q;
	struct mt_buf b;
	int k, runs = -1;

	if ((mkdirat(s->fd, "runs", 0755) < 0 && errno != EEXIST) || !sub(s->fd, "runs", &runs)) {
		mt_msg_sys("cannot make %s/runs", s->dir);
		return 0;
	}
	/* 2026-12-02T18:55:01.123Z -> 20261202T185501.123Z: sorts as time does. */
	mt_buf_init(&b, stamp, sizeof stamp, -1);
	mt_buf_utc(&b, start_wall_us);
	for (p = q = stamp; *p; p++)
		if (*p != '-' && *p != ':')
			*q++ = *p;
	*q = '\0';
	for (k = 0; k < 100; k++) {
		snprintf(s->run_name, sizeof s->run_name, k ? "%s-%d.%d" : "%s-%d", stamp,
			 (int)getpid(), k);
		if (snprintf(s->run, sizeof s->run, "%s/runs/%s", s->dir, s->run_name) >=
		    (int)sizeof s->run) {
			mt_msg("state directory path too long: %s", s->dir);
			close(runs);
			return 0;
		}
		if (mkdirat(runs, s->run_name, 0755) == 0)
			break;
		if (errno != EEXIST) {
			mt_msg_sys("cannot make %s", s->run);
			close(runs);
			return 0;
		}
	}
	if (!sub(runs, s->run_name, &s->run_fd) || mkdirat(s->run_fd, "failures", 0755) < 0) {
		mt_msg_sys("cannot make %s/failures", s->run);
		close(runs);
		return 0;
	}
	proc_path(s->run_at, sizeof s->run_at, s->run_fd);
	/* The new folder survives a power cut. */
	k = fsync(runs);
	close(runs);
	if (k < 0) {
		mt_msg_sys("cannot sync %s/runs", s->dir);
		return 0;
	}
	return 1;
}

int mt_statedir_use_run(struct mt_statedir *s, const char *name)
{
	int runs = -1;

	if (snprintf(s->run_name, sizeof s->run_name, "%s", name) >= (int)sizeof s->run_name ||
	    strchr(name, '/') || name[0] == '.' || !name[0] ||
	    snprintf(s->run, sizeof s->run, "%s/runs/%s", s->dir, name) >= (int)sizeof s->run) {
		mt_msg("not a run folder's name: %s", name);
		return 0;
	}
	if (!sub(s->fd, "runs", &runs) || !sub(runs, name, &s->run_fd)) {
		if (runs >= 0)
			close(runs);
		mt_msg("the run to resume is gone: %s", s->run);
		return 0;
	}
	close(runs);
	proc_path(s->run_at, sizeof s->run_at, s->run_fd);
	return 1;
}

int mt_statedir_publish(struct mt_statedir *s)
{
	char target[96];

	snprintf(target, sizeof target, "runs/%s", s->run_name);
	if ((unlinkat(s->fd, ".last-run.tmp", 0) < 0 && errno != ENOENT) ||
	    symlinkat(target, s->fd, ".last-run.tmp") < 0 ||
	    renameat(s->fd, ".last-run.tmp", s->fd, "last-run") < 0) {
		mt_msg_sys("cannot point %s at %s", s->last, target);
		return 0;
	}
	if (fsync(s->fd) < 0) {
		mt_msg_sys("cannot sync %s", s->dir);
		return 0;
	}
	return 1;
}

/* A run folder's name: <digits>T<digits>...Z-<pid>, or an old layout's. */
static int run_like(const char *name)
{
	return name[0] >= '0' && name[0] <= '9' && strchr(name, '-') != NULL;
}

int mt_statedir_runs(const struct mt_statedir *s, char (*names)[MT_RUN_NAME_MAX], unsigned max)
{
	char tmp[MT_RUN_NAME_MAX];
	struct mt_dir d;
	const char *e;
	unsigned n = 0, i, j;

	if (!mt_dir_open(&d, s->fd, "runs"))
		return errno == ENOENT ? 0 : -1;
	while ((e = mt_dir_next(&d, NULL)) && n < max)
		if (run_like(e) && strlen(e) < sizeof names[0])
			snprintf(names[n++], sizeof names[0], "%s", e);
	mt_dir_close(&d);
	/* Oldest first: a few hundred names at most, insertion sort. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			memcpy(tmp, names[j], sizeof tmp);
			memcpy(names[j], names[j - 1], sizeof tmp);
			memcpy(names[j - 1], tmp, sizeof tmp);
		}
	return (int)n;
}

int mt_statedir_prune(struct mt_statedir *s, unsigned keep)
{
	static char names[MT_RUNS_MAX][MT_RUN_NAME_MAX];
	struct mt_dir d;
	unsigned i, removed = 0;
	int n = mt_statedir_runs(s, names, MT_RUNS_MAX);

	if (n <= (int)keep)
		return n < 0 ? -1 : 0;
	if (!mt_dir_open(&d, s->fd, "runs"))
		return -1;
	for (i = 0; i < (unsigned)n - keep; i++) {
		if (strcmp(names[i], s->run_name) == 0)
			continue;
		if (!mt_rmtree_at(d.fd, names[i])) {
			mt_msg_sys("cannot remove %s/runs/%s", s->dir, names[i]);
			mt_dir_close(&d);
			return -1;
		}
		removed++;
	}
	mt_dir_close(&d);
	return (int)removed;
}

int mt_statedir_busy(const struct mt_statedir *s)
{
	int fd, busy;

	fd = mt_open_file_at(s->fd, "lock");
	if (fd < 0)
		return 0;
	busy = mt_lock_held(fd);
	close(fd);
	return busy;
}

void mt_statedir_close(struct mt_statedir *s)
{
	int *fds[] = { &s->lock_fd, &s->run_fd, &s->plugin_fd, &s->fd };
	unsigned k;

	for (k = 0; k < sizeof fds / sizeof fds[0]; k++) {
		if (*fds[k] >= 0)
			close(*fds[k]);
		*fds[k] = -1;
	}
}

static int pointer_path(char *out, size_t cap)
{
	const char *home = getenv("HOME");

	return home && *home &&
	       snprintf(out, cap, "%s/.local/state/mtest/last-state-dir", home) < (int)cap;
}

void mt_statedir_remember(const struct mt_statedir *s)
{
	static struct mt_atomic a;
	char path[MT_PATH_MAX], dir[MT_PATH_MAX];
	char *slash;

	if (!pointer_path(path, sizeof path))
		return;
	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	if (!mt_mkdir_p(dir, 0755) || !mt_atomic_open(&a, path))
		return;	/* only a convenience for --report */
	mt_buf_printf(&a.out, "%s\n", s->dir);
	if (!mt_atomic_commit(&a))
		mt_atomic_abort(&a);
}

/* Is dir a state directory? Any of what a run or a pin leaves there:
 * last-run is only a convenience, and may dangle (runs/ is the truth). */
static int has_run(const char *dir)
{
	static const char *const marks[] = { "runs", "state.json", "quarantine.json",
					     "last-run/run.jsonl" };
	char p[MT_PATH_MAX];
	struct stat st;
	unsigned k;

	for (k = 0; k < sizeof marks / sizeof marks[0]; k++)
		if (snprintf(p, sizeof p, "%s/%s", dir, marks[k]) < (int)sizeof p &&
		    stat(p, &st) == 0)
			return 1;
	return 0;
}

/* The state directory found, held by the trust rule; refused, the reason
 * goes into what was looked at. Readers too: a journal another user can
 * write could say "passed" for a run that failed. */
static int found(struct mt_statedir *s, struct mt_buf *b, const char *dir, const char *how)
{
	char why[MT_PATH_MAX + 160];

	if (!fill(s, dir, how))
		return 0;
	s->fd = mt_trust_open(s->dir, 0, 0, why, sizeof why);
	if (s->fd >= 0)
		return 1;
	mt_buf_printf(b, "%s%s (%s: refused: %s)", b->len ? ", " : "", s->dir, how, why);
	return 0;
}

int mt_statedir_find(struct mt_statedir *s, const struct mt_opts *o,
		     char *looked, size_t cap)
{
	char dir[MT_PATH_MAX], cand[MT_PATH_MAX + 8], ptr[MT_PATH_MAX], *slash, *nl;
	struct mt_buf b;

	mt_buf_init(&b, looked, cap, -1);
	if (o->state_dir) {
		if (has_run(o->state_dir))
			return found(s, &b, o->state_dir, "given");
		mt_buf_printf(&b, "%s (given)", o->state_dir);
		return 0;
	}
	if (!getcwd(dir, sizeof dir))
		return 0;
	for (;;) {
		snprintf(cand, sizeof cand, "%s/.gates", dir);
		if (has_run(cand))
			return found(s, &b, cand, "found upward");
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	mt_buf_puts(&b, ".gates/ in the current directory and its parents");
	if (pointer_path(ptr, sizeof ptr)) {
		if (mt_read_file(ptr, dir, sizeof dir) > 0) {
			nl = strchr(dir, '\n');
			if (nl)
				*nl = '\0';
			if (has_run(dir))
				return found(s, &b, dir, "the last run of this user");
		}
		mt_buf_printf(&b, ", %s", ptr);
	}
	return 0;
}

int mt_statedir_newest(const struct mt_statedir *s, char *name, size_t cap)
{
	struct mt_dir d;
	const char *e;

	name[0] = '\0';
	if (!mt_dir_open(&d, s->fd, "runs"))
		return 0;
	while ((e = mt_dir_next(&d, NULL)))
		if (run_like(e) && strlen(e) < cap && strcmp(e, name) > 0)
			snprintf(name, cap, "%s", e);
	mt_dir_close(&d);
	return name[0] != '\0';
}
