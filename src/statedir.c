/* mtest: the state directory. */
#include "mtest/statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtest/buf.h"
#include "mtest/fsx.h"
#include "mtest/msg.h"

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
	s->how = how;
	s->lock_fd = -1;
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

int mt_statedir_open(struct mt_statedir *s)
{
	char path[MT_PATH_MAX + 32];

	if (!mt_mkdir_p(s->dir, 0755)) {
		mt_msg_sys("cannot create state directory %s", s->dir);
		return 0;
	}
	snprintf(path, sizeof path, "%s/lock", s->dir);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd < 0) {
		mt_msg_sys("cannot open %s", path);
		return 0;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			mt_msg("state directory %s is in use by another mtest run", s->dir);
		else
			mt_msg_sys("cannot lock %s", path);
		return 0;
	}
	snprintf(path, sizeof path, "%s/prev-run", s->dir);
	if (!mt_rmtree(path)) {
		mt_msg_sys("cannot remove %s", path);
		return 0;
	}
	if (rename(s->last, path) < 0 && errno != ENOENT) {
		mt_msg_sys("cannot move %s to %s", s->last, path);
		return 0;
	}
	snprintf(path, sizeof path, "%s/failures", s->last);
	if (!mt_mkdir_p(path, 0755) || !mt_mkdir_p(s->plugin, 0755)) {
		mt_msg_sys("cannot create %s", path);
		return 0;
	}
	/* The rotation and the new last-run survive a power cut. */
	if (!mt_fsync_dir(s->dir)) {
		mt_msg_sys("cannot sync %s", s->dir);
		return 0;
	}
	return 1;
}

int mt_statedir_busy(const struct mt_statedir *s)
{
	char path[MT_PATH_MAX + 8];
	int fd, busy;

	snprintf(path, sizeof path, "%s/lock", s->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	busy = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
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

static int has_run(const char *dir)
{
	char p[MT_PATH_MAX];
	struct stat st;

	return snprintf(p, sizeof p, "%s/last-run/run.jsonl", dir) < (int)sizeof p &&
	       stat(p, &st) == 0;
}

int mt_statedir_find(struct mt_statedir *s, const struct mt_opts *o,
		     char *looked, size_t cap)
{
	char dir[MT_PATH_MAX], cand[MT_PATH_MAX + 8], ptr[MT_PATH_MAX], *slash, *nl;
	struct mt_buf b;

	mt_buf_init(&b, looked, cap, -1);
	if (o->state_dir) {
		if (has_run(o->state_dir))
			return fill(s, o->state_dir, "chosen");
		mt_buf_printf(&b, "%s (given)", o->state_dir);
		return 0;
	}
	if (!getcwd(dir, sizeof dir))
		return 0;
	for (;;) {
		snprintf(cand, sizeof cand, "%s/.gates", dir);
		if (has_run(cand))
			return fill(s, cand, "found upward");
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
				return fill(s, dir, "the last run of this user");
		}
		mt_buf_printf(&b, ", %s", ptr);
	}
	return 0;
}
