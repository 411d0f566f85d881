/* mtest: progress on stdout. On a terminal, one live line (done/total,
 * failures so far, the current test, elapsed time); otherwise one plain
 * line per verdict, fit for a nightly log. With several lanes the live
 * line shows each lane's test, the first ones in full, the rest by name. A dead terminal (EPIPE, EIO)
 * only silences it: the run goes on. */
#ifndef MTEST_PROGRESS_H
#define MTEST_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "mtest/cli.h"
#include "mtest/run/run.h"

struct mt_progress {
	enum mt_progress_mode mode;	/* resolved: tty, plain or quiet */
	int dead;
	int color;
	int shown;			/* a live line is on screen */
	unsigned long dropped;		/* lines stdout had no room for */
	int64_t start_us;
	int64_t next_tick_us;		/* MT_NEVER unless live */
	int defang;			/* --lava: '<' shows as '[' in all but signals */
	int nlanes;
	uint32_t current[MT_LANES_MAX];	/* each lane's slot in flight, or MT_NONE */
};

void mt_progress_init(struct mt_progress *p, enum mt_progress_mode mode, int nlanes,
		      int64_t now);
/* Lane `lane` started the test in `slot`. */
void mt_progress_start(struct mt_progress *p, const struct mt_run *r, int lane, uint32_t slot,
		       int64_t now);
void mt_progress_verdict(struct mt_progress *p, const struct mt_run *r, uint32_t slot,
			 const char *id, const struct mt_vinfo *v, int64_t now);
/* Redraw the live line (its clock); call at next_tick_us. */
void mt_progress_tick(struct mt_progress *p, const struct mt_run *r, int64_t now);
/* A line about the run itself (a worker crashed, and so on). */
void mt_progress_note(struct mt_progress *p, const char *text);
/* Write text to stdout, clearing the live line first. */
void mt_progress_print(struct mt_progress *p, const char *text, size_t n);
/* LAVA signals: as mt_progress_print, never defanged. */
void mt_progress_signal(struct mt_progress *p, const char *text, size_t n);

#endif
