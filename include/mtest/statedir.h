/* mtest: where a run's records live, and finding them again.
 *
 * <state>/lock          held (flock) by the running mtest
 * <state>/plugin/       the pytest plugin, written at each start
 * <state>/last-run/     run.jsonl, summary.md, console.log, failures/
 * <state>/prev-run/     the run before
 */
#ifndef MTEST_STATEDIR_H
#define MTEST_STATEDIR_H

#include <stddef.h>

#include "mtest/cli.h"
#include "mtest/limits.h"

struct mt_statedir {
	char dir[MT_PATH_MAX];		/* absolute */
	char last[MT_PATH_MAX];		/* <dir>/last-run */
	char plugin[MT_PATH_MAX];	/* <dir>/plugin */
	const char *how;		/* which rule chose it */
	int lock_fd;
};

/* The suite's root: from `start` (a path argument, or the current
 * directory) upward, the first directory holding pytest.ini,
 * pyproject.toml, tox.ini or setup.cfg; else `start`'s directory. */
int mt_suite_root(const char *start, char *out, size_t cap);

/* Choose the state directory for a run: --state-dir, MTEST_STATE_DIR, the
 * config file, then .gates/ in the suite's root. */
int mt_statedir_for_run(struct mt_statedir *s, const struct mt_opts *o);
/* Create it, take the lock, move last-run to prev-run and make a fresh
 * last-run/failures. Prints one line and returns 0 on failure. */
int mt_statedir_open(struct mt_statedir *s);

/* Find the last run for --report: the same rules, then .gates/ in the
 * current directory and its parents, then the pointer the last run of
 * this user left in $HOME/.local/state/mtest/last-state-dir. Returns 1,
 * or 0 with the places looked at in `looked`. */
int mt_statedir_find(struct mt_statedir *s, const struct mt_opts *o,
		     char *looked, size_t cap);
/* Record this state directory as the user's last (best effort). */
void mt_statedir_remember(const struct mt_statedir *s);
/* 1 if a live mtest holds the lock of this state directory. */
int mt_statedir_busy(const struct mt_statedir *s);

#endif
