/* mtest: one pytest worker process: spawn, pipes, control, signals.
 *
 * The worker is mtest's child in its own process group, with stdin on
 * /dev/null, fd 3 the event pipe (to mtest), fd 4 the control pipe (from
 * mtest), stdout and stderr one console pipe, and PR_SET_PDEATHSIG so
 * that it dies with mtest. What it runs is the caller's argv and envp.
 */
#ifndef MTEST_WORKER_H
#define MTEST_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtest/limits.h"
#include "mtest/base/ring.h"

struct mt_cgroup;

enum mt_wstate {
	MT_W_NONE = 0,		/* no process */
	MT_W_STARTING,		/* spawned, pytest not configured yet */
	MT_W_COLLECTING,	/* collecting tests */
	MT_W_RUNNING,		/* collected: running what mtest sends */
	MT_W_STOPPING,		/* told to stop or end; waiting for it to exit */
	MT_W_KILLING,		/* SIGTERM sent to its group; SIGKILL at kill_at */
	MT_W_DEAD,		/* reaped */
};

/* Where the pipes are at exec; the plugin moves them to high descriptors,
 * close-on-exec, as it starts. */
#define MT_WORKER_EVENT_FD 3
#define MT_WORKER_CONTROL_FD 4
/* A zygote's socket, on which mtest asks it to fork (docs/protocol.md). */
#define MT_WORKER_ZYGOTE_FD 5
/* Each event line is RS, JSON, LF. */
#define MT_FRAME_RS '\x1e'

struct mt_worker {
	int num;		/* 1, 2, ... in the run */
	pid_t pid;
	unsigned long long start;	/* its start time (/proc), 0 if unknown */
	enum mt_wstate state;
	int ev_fd, ctl_fd, con_fd;	/* our ends */
	int cap_fd[2];		/* pytest's capture files, through /proc */
	char token[40];
	int64_t spawned_us;
	int status;		/* wait status, once dead */
	enum mt_wstate died_in;	/* its state when it died */
	int stopped;		/* stopped by a signal (its crash handler) */
	int reaped;		/* waited for: its pid may be reused now */
	int killing;		/* mtest decided to kill it */
	int retiring;		/* told to stop at a boundary */
	char kill_reason[64];
	int kill_sent;
	int64_t kill_at_us;	/* SIGKILL deadline while killing, then the
				 * moment mtest gives up waiting for it */

	/* Event frames being assembled (docs/protocol.md). */
	char line[MT_LINE_MAX];
	size_t line_len;
	int line_dropping;
	int in_frame, in_junk;
	uint32_t bad_lines;	/* malformed: junk outside frames, cut frames */
	uint32_t bad_shown;	/* of those, named in a note */
	char sample[80];	/* the first bytes of the last malformed line */
	size_t sample_len;
	int64_t next_seq;	/* the "q" the next plugin line must carry */
	uint32_t lost_lines;	/* gaps in the sequence */
	uint32_t rejected;	/* events refused: forged, foreign, out of place */
	int ev_err;		/* errno of a read error that ended the pipe */
	int ctl_broken;		/* a write to the control pipe failed (EPIPE) */

	/* Control bytes not yet taken by the worker. */
	char ctl[MT_CONTROL_BUF];
	size_t ctl_len;

	struct mt_ring console;

	/* This worker's collection: its item index -> test slot. */
	uint32_t map[MT_TESTS_MAX];
	uint32_t nitems;
	uint32_t lost_items;	/* item lines that never arrived */
	/* What it runs, as item indices in order; sent, and done so far. */
	uint32_t queue[MT_TESTS_MAX];
	uint32_t qlen, qsent, qdone;
	int ended;		/* "e" sent */
	int forked;		/* forked by the zygote: its pid comes in an event */
};

void mt_worker_reset(struct mt_worker *w, int num);
/* Fork and exec; zygote_fd >= 0 goes to the child as MT_WORKER_ZYGOTE_FD.
 * The child is born in cgroup leaf `leaf` of cg (or joins it before its
 * exec, on an older kernel; nothing when cgroups are off). Returns 1, or
 * 0 with errno (pipes or fork failed). An exec failure is reported by the
 * child as an "execfail" event. */
int mt_worker_spawn(struct mt_worker *w, char *const argv[], char *const envp[], int zygote_fd,
		    const struct mt_cgroup *cg, int leaf);
/* Ask the zygote on zsock to fork this worker: the request's bytes go with
 * the worker's ends of three new pipes, and cgroup_fd (when >= 0), the
 * cgroup.procs its fork joins before it forks the worker. Returns 1, or 0
 * with errno (EAGAIN: the zygote does not read its socket). The pid is not
 * known yet (-1). */
int mt_worker_fork(struct mt_worker *w, int zsock, const char *request, size_t len,
		   int cgroup_fd);

typedef void mt_line_fn(void *ctx, struct mt_worker *w, char *line, size_t len);
/* Read what the event pipe holds and hand each complete frame's JSON to
 * fn; bytes outside frames are counted as malformed lines. Returns 0 at
 * end of file or on a read error (the pipe is then closed), 1 otherwise. */
int mt_worker_read_events(struct mt_worker *w, mt_line_fn *fn, void *ctx);
/* Read the console pipe into the ring and append it to logfd while
 * *logged stays under MT_CONSOLE_LOG_MAX. Returns 0 at end of file. */
int mt_worker_read_console(struct mt_worker *w, int logfd, uint64_t *logged);

/* Queue a control line (with its newline) and write what the pipe takes.
 * Returns 0 if the control buffer is full. */
int mt_worker_send(struct mt_worker *w, const char *s, size_t n);
/* Write pending control bytes; call when the pipe is writable. */
void mt_worker_flush(struct mt_worker *w);

/* Signal the worker's whole process group. */
void mt_worker_signal(struct mt_worker *w, int sig);
/* Open pytest's capture file `fd` of the worker through /proc (which
 * = 0 stdout, 1 stderr), so that its contents outlive the worker. Never
 * blocks; returns 0 (errno EINVAL) when it is not a regular file. */
int mt_worker_open_capture(struct mt_worker *w, int which, int fd);
/* Close every descriptor of the worker. */
void mt_worker_close(struct mt_worker *w);

#endif
