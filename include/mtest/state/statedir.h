/* mtest: where a run's records live, and finding them again.
 *
 * <state>/lock               held (a POSIX record lock) by the running mtest: "pid start"
 * <state>/plugin/            the pytest plugin, rewritten at each start (0700)
 * <state>/runs/<stamp>-<pid>/ one folder per run: run.jsonl, summary.md,
 *                            console.log, failures/, captures/
 * <state>/last-run           a symlink to the newest run's folder
 *
 * The state directory is opened once, by a path that only root and this
 * user can change (base/trust.h), and used through its descriptor from
 * then on: its files with *at() calls, and by the workers (which import
 * the plugin from it) as /proc/<mtest's pid>/fd/<N> of the plugin folder
 * mtest holds, a path that names the folder mtest opened whatever happens
 * to <state> meanwhile. Runs are kept (--keep, default 10) and pruned only
 * at the end of a run that started, so that a start-up that fails never
 * costs an earlier run's records.
 */
#ifndef MTEST_STATEDIR_H
#define MTEST_STATEDIR_H

#include <stddef.h>
#include <stdint.h>

#include "mtest/cli.h"
#include "mtest/limits.h"

struct mt_statedir {
	char dir[MT_PATH_MAX];		/* absolute, as chosen: for messages and records */
	char last[MT_PATH_MAX];		/* <dir>/last-run, for messages */
	char plugin[MT_PATH_MAX];	/* <dir>/plugin, for messages */
	char run[MT_PATH_MAX];		/* this run's folder, once made: for messages */
	char run_name[MT_RUN_NAME_MAX];	/* <stamp>-<pid> */
	/* What other processes are given: /proc/<pid>/fd/<fd> of the held
	 * plugin folder (the workers' PYTHONPATH) and run folder. */
	char plugin_at[48], run_at[48];
	const char *how;		/* which rule chose it */
	int fd, run_fd, plugin_fd;	/* the held directories, -1 until opened */
	int lock_fd;
};

/* The suite's root: from `start` (a path argument, or the current
 * directory) upward, the first directory holding pytest.ini,
 * pyproject.toml, tox.ini or setup.cfg; else `start`'s directory. */
int mt_suite_root(const char *start, char *out, size_t cap);

/* Choose the state directory for a run: --state-dir, MTEST_STATE_DIR, the
 * config file, then .gates/ in the suite's root. */
int mt_statedir_for_run(struct mt_statedir *s, const struct mt_opts *o);
/* Open it (created if needed) by the trust rule, with the last directory
 * this user's own, and take the lock. Prints one line and returns 0 on
 * failure, with *usage set when the cause is the user's to fix (exit 4)
 * rather than mtest's. */
int mt_statedir_open(struct mt_statedir *s, int *usage);
/* A fresh, private plugin folder (0700), held open. */
int mt_statedir_plugin(struct mt_statedir *s);
/* Make this run's folder (runs/<stamp>-<pid>/failures). */
int mt_statedir_new_run(struct mt_statedir *s, int64_t start_wall_us);
/* Use the folder of an earlier run (--resume). */
int mt_statedir_use_run(struct mt_statedir *s, const char *name);
/* Point last-run at this run's folder (atomically). */
int mt_statedir_publish(struct mt_statedir *s);
/* The run folders' names, oldest first, at most max. Returns how many,
 * or -1 with errno. */
int mt_statedir_runs(const struct mt_statedir *s, char (*names)[MT_RUN_NAME_MAX], unsigned max);
/* The newest run folder's name (runs/ is the truth; last-run may dangle
 * or be missing). Returns 1, or 0 if there is none. */
int mt_statedir_newest(const struct mt_statedir *s, char *name, size_t cap);
/* Remove the oldest runs' folders beyond `keep` (never this run's).
 * Returns how many were removed, -1 on an error (said in one line). */
int mt_statedir_prune(struct mt_statedir *s, unsigned keep);

/* Find the last run for --report: the same rules, then .gates/ in the
 * current directory and its parents, then the pointer the last run of
 * this user left in $HOME/.local/state/mtest/last-state-dir. The one
 * found is opened by the trust rule (root's or this user's). Returns 1,
 * or 0 with the places looked at in `looked` (and why the one found was
 * refused). */
int mt_statedir_find(struct mt_statedir *s, const struct mt_opts *o,
		     char *looked, size_t cap);
/* Record this state directory as the user's last (best effort). */
void mt_statedir_remember(const struct mt_statedir *s);
/* 1 if a live mtest holds the lock of this state directory. */
int mt_statedir_busy(const struct mt_statedir *s);
/* Let go of the held directories and the lock. */
void mt_statedir_close(struct mt_statedir *s);

#endif
