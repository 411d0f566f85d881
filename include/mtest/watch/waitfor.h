/* mtest: the wait-for graph in words, for the stack-capture helper: the
 * clause of the diagnosis line that follows the test thread's chain
 * ("MainThread waits for _state_lock (sup.py:336), held by EncoderRestart
 * since sup.py:1087 (2.3 s), which exited"), the bundle's section with
 * every waiting thread's lock and its holder, and the locks each thread
 * holds (docs/watchdog.md, "The lock ledger"). */
#ifndef MTEST_WAITFOR_H
#define MTEST_WAITFOR_H

#include <stdint.h>
#include <sys/types.h>

#include "mtest/base/buf.h"
#include "mtest/watch/capture.h"
#include "mtest/watch/ledger.h"
#include "mtest/watch/pyframes.h"

/* A thread as the words need it (capture.c's view of it). */
struct mt_wfview {
	pid_t tid;
	const char *name;
	const struct mt_pythread *py;	/* NULL: not read */
	const struct mt_tdiag *d;	/* NULL: not sampled */
	int told;			/* named by the chain's clause */
};

/* What the words are made from. */
struct mt_wfctx {
	const struct mt_wfgraph *g;
	const struct mt_ledger *lg;	/* NULL: no ledger */
	struct mt_wfview *v;
	int n;
	const struct mt_names *names;	/* names of threads that exited */
	pid_t pid;
	int64_t now_ns;			/* CLOCK_MONOTONIC */
};

/* The first Python frame that is not the ledger's wrapper, or NULL. */
const struct mt_pyframe *mt_wf_frame(const struct mt_pythread *py);
/* ": MainThread waits for X (f.py:3), held by ... ; A and B wait for it
 * too" (marks the threads it names); nothing if the graph has no chain. */
int mt_wf_clause(struct mt_buf *o, struct mt_wfctx *c);
/* The bundle's "Wait-for graph" section. */
void mt_wf_section(struct mt_buf *o, const struct mt_wfctx *c, const char *status);
/* "  holds X (taken at f.py:3 in f, 2.3 s ago)" lines of one thread. */
void mt_wf_thread_lines(struct mt_buf *o, const struct mt_wfctx *c, pid_t tid);

#endif
