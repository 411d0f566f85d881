/* mtest: the plugin's event lines (docs/protocol.md), parsed into one
 * typed struct. Each line is a JSON object with "t" (its type) and "k"
 * (the worker's token); a line with a wrong token is not the worker's. */
#ifndef MTEST_EVENTS_H
#define MTEST_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "mtest/limits.h"

enum mt_ev {
	MT_EV_BAD = 0,		/* not JSON, or no type */
	MT_EV_FOREIGN,		/* a valid event with another worker's token */
	MT_EV_UNKNOWN,		/* a type this mtest does not know */
	MT_EV_HELLO,
	MT_EV_CONFIG,
	MT_EV_COLLECTING,
	MT_EV_COLLECT_ERROR,
	MT_EV_ITEM,
	MT_EV_COLLECTED,
	MT_EV_START,
	MT_EV_PHASE,
	MT_EV_DONE,
	MT_EV_FENCE,
	MT_EV_EXIT,
	MT_EV_BYE,
	MT_EV_NOPYTEST,
	MT_EV_EXECFAIL,
	MT_EV_WARN,
	MT_EV_THREAD,
	MT_EV_FATAL,		/* from the preloaded crash handler */
	MT_EV_FIXTURE,		/* a module or session fixture owns these */
	MT_EV_FIXTURE_END,
	MT_EV_ZYGOTE,		/* the zygote collected: it forks, or why not */
	MT_EV_FORKED,		/* the zygote forked worker n: its pid */
};

#define MT_EV_TEXT (MT_TEXT_MAX + 256)
#define MT_EV_TAIL (MT_TAIL_MAX + 256)

/* A session helper the plugin saw dead (start and done events). */
struct mt_gone {
	int pid;
	unsigned long long start;
	int status;			/* wait status of the zombie, -1 unknown */
};

struct mt_event {
	enum mt_ev type;
	int64_t seq;			/* "q": the line's number; -1 when absent */
	int64_t i;			/* item index; -1 when absent */
	int64_t cursor;			/* "lp": the kernel's id cursor; -1 */
	int64_t mono_us;		/* "mono": the worker's CLOCK_MONOTONIC at a start or done; -1 */
	int ngone;
	struct mt_gone gone[MT_HELPERS_MAX];
	int64_t n, deselected, pid, rc, err_no, line;
	int64_t out_fd, err_fd;		/* -1 when absent */
	int64_t dur_us;			/* of a phase */
	int64_t phase_us[3];		/* of a whole test (done) */
	int64_t mem_kib;		/* its peak memory (done); -1 when absent */
	int64_t timeout_us;		/* item's marker; -1 when absent */
	int64_t suite_timeout_us;	/* -1 when absent */
	int64_t session_timeout_us;	/* -1 when absent */
	int phase, outcome, wasxfail;
	int conftest, initial, aborted;	/* of a collection error */
	int ok;				/* zygote: forking is safe */
	int daemon;
	int64_t tid, hexversion, sig, key;
	int ntids, npids;
	int tids[MT_FIXTURE_ITEMS];
	int pids[MT_FIXTURE_ITEMS];
	unsigned long long pid_starts[MT_FIXTURE_ITEMS];
	char cmds[MT_FIXTURE_ITEMS][160];	/* of a fixture's pids */
	char scope[16];
	uint64_t interp, runtime;	/* PyInterpreterState, _PyRuntime */
	int pytb;			/* hello: the faulthandler signal, or 0 */
	int64_t ledger;			/* hello: the lock ledger's memfd, or -1 */
	uint64_t rlock;			/* hello: CPython's RLock type, or 0 */
	int nmarkers;
	int ngroups;			/* "g": its mtest_group markers' names */
	char groups[MT_TEST_GROUPS_MAX][MT_GROUP_NAME_MAX];
	char markers[MT_MARKERS_MAX][MT_MARKER_NAME_MAX];
	char id[MT_ID_MAX + 32];
	char file[MT_PATH_MAX];
	char path[MT_PATH_MAX];
	char exc[MT_REASON_MAX];
	char skip[MT_REASON_MAX];
	char xfail[MT_REASON_MAX];
	char crash[MT_DETAIL_MAX];
	char text[MT_EV_TEXT];		/* longrepr, or a message */
	char out[MT_EV_TAIL], err[MT_EV_TAIL], log[MT_EV_TAIL];
	char python[64], pytest[64], timeout_plugin[64], what[64], name[128];
	char executable[MT_PATH_MAX], rootdir[MT_PATH_MAX], inifile[MT_PATH_MAX];
	char threads[MT_EVENT_TEXT_MAX];	/* names, comma-separated (bye);
						 * neutralised flags (config) */
};

/* Parse one frame's JSON. Returns e->type: MT_EV_BAD for what is not an
 * event (not JSON, no type), MT_EV_FOREIGN for another token's. */
enum mt_ev mt_event_parse(struct mt_event *e, const char *line, size_t len,
			  const char *token);

#endif
