/* mtest: <state>/state.json, where a run says how it stands, for
 * --resume and for whoever reads the box's state:
 *   {"v":1,"run":"20261202T185501.123Z-4242","pid":4242,"since":"...",
 *    "status":"running","synced":123456,"exit":-1,"led":"running"}
 * status: running (it may have died: kill -9, a power cut), interrupted
 * (SIGINT, SIGTERM, SIGHUP, the run timeout), done. synced: the bytes of
 * the run's run.jsonl known to be on the disk (fdatasync). led: the LED
 * code the run shows (docs/leds.md), for the LED daemon. Replaced
 * atomically (temp file, fsync, rename, fsync of the directory). */
#ifndef MTEST_RUNSTATE_H
#define MTEST_RUNSTATE_H

#include <stddef.h>
#include <stdint.h>

struct mt_runstate {
	char run[64];		/* the run folder's name */
	int pid;
	int64_t since_wall_us;
	char status[16];
	int64_t synced;
	int exit_code;		/* -1 while running */
	char led[16];		/* the LED code's name; "" if unknown (older files) */
};

/* Below the open state directory dirfd. Returns 1, or 0 with errno. */
int mt_runstate_write(int dirfd, const struct mt_runstate *st);
/* Parse state.json's text; 1 if it is one. Nothing is moved. */
int mt_runstate_parse(const char *text, size_t n, struct mt_runstate *st);
/* Returns 1; 0 if absent (errno ENOENT) or not a regular file; -1 if
 * damaged (it is then moved aside to state.json.corrupt, said in one line
 * naming it as <dir>/state.json). */
int mt_runstate_read(int dirfd, const char *dir, struct mt_runstate *st);

#endif
