/* mtest: the run's summary, as text for 80 columns: summary.md, the end
 * of a run, and --report all render it from the test table. */
#ifndef MTEST_SUMMARY_H
#define MTEST_SUMMARY_H

#include <stdint.h>

#include "mtest/base/buf.h"
#include "mtest/limits.h"
#include "mtest/run/run.h"

/* Run events worth a line in the summary (a worker crashed, leftovers
 * killed, a limit hit). */
struct mt_note {
	char what[24];
	char text[MT_EVENT_TEXT_MAX];
};
struct mt_notes {
	struct mt_note n[MT_EVENTS_MAX];
	uint32_t len;
	uint32_t dropped;
};
void mt_notes_add(struct mt_notes *ns, const char *what, const char *text);

/* Dirty events: what may have made later tests start dirty. */
struct mt_dirty {
	int id;
	char cause[MT_EVENT_TEXT_MAX];
	uint32_t shadow;	/* tests that started in its shadow */
	int restarted;		/* a fresh worker came after it */
};
struct mt_dirties {
	int n, dropped;
	struct mt_dirty d[MT_DIRTY_MAX];
};

enum mt_run_state { MT_RUN_DONE = 0, MT_RUN_LIVE, MT_RUN_DEAD };

struct mt_meta {
	enum mt_run_state state;
	int64_t start_wall_us;
	int64_t elapsed_us;
	int pid;
	int exit_code;		/* when done */
	const char *stopped;	/* why it stopped early, or NULL */
	const char *fatal;	/* the error that ended it, or NULL */
	int collected_known;	/* a collection finished */
	uint32_t collected;	/* tests pytest collected (after deselection) */
	uint32_t deselected;
	int workers;
	uint32_t forked;	/* of them, forked from the zygote */
	const char *python;
	const char *pytest;
	const char *last_dir;
	const char *processes;	/* what held the run's processes (cgroups, or /proc) */
	int heaviest;		/* list the tests with the highest peak memory */
	int64_t vmhwm_kb;	/* -1 unknown */
	const struct mt_notes *notes;
	const struct mt_dirties *dirties;
	/* --budget's plan ("plan" record): planned against done. */
	int plan_known;
	int64_t plan_budget_us, plan_predicted_us;
	uint32_t plan_chosen, plan_left_out;
};

/* "329 collected: 320 passed, 3 failed, 1 hung" */
void mt_summary_counts(struct mt_buf *o, const struct mt_run *r, uint32_t collected);
void mt_summary_render(struct mt_buf *o, const struct mt_run *r, const struct mt_meta *m,
		       int color);

#endif
