/* mtest: the command line and the config file. */
#ifndef MTEST_CLI_H
#define MTEST_CLI_H

#include <stdint.h>

#include "mtest/limits.h"

struct mt_board;

#define MT_VERSION "0.1.0"
#define MT_DEFAULT_CONFIG "/etc/mtest/mtest.conf"
#define MT_DEFAULT_PYTHON "/usr/bin/python3"
#define MT_DEFAULT_TIMEOUT_US (60 * 1000000LL)
#define MT_DEFAULT_KILL_GRACE_US (5 * 1000000LL)
#define MT_DEFAULT_COLLECT_TIMEOUT_US (60 * 1000000LL)
#define MT_DEFAULT_DEADLOCK_AFTER_US (5 * 1000000LL)
#define MT_DEFAULT_LEAK_GRACE_US (500 * 1000LL)
#define MT_DEFAULT_KEEP 10

enum mt_restart { MT_RESTART_FILE = 0, MT_RESTART_TEST, MT_RESTART_NEVER };
enum mt_isolate { MT_ISOLATE_NONE = 0, MT_ISOLATE_FILE, MT_ISOLATE_TEST };
enum mt_dist { MT_DIST_FILE = 0, MT_DIST_TEST };

enum mt_progress_mode { MT_PROGRESS_AUTO = 0, MT_PROGRESS_TTY, MT_PROGRESS_PLAIN,
			MT_PROGRESS_QUIET };

/* An exclusive group of the config file ("group.NAME = PATTERN ..."):
 * tests whose file or node id matches a pattern (docs/planning.md). */
struct mt_groupdef {
	char name[MT_GROUP_NAME_MAX];
	char patterns[MT_GROUP_PATTERNS];	/* separated by spaces */
};

struct mt_opts {
	int report;		/* --report */
	const char *report_run;	/* --run: which run --report shows */
	int history;		/* --history */
	int quarantine;		/* --quarantine [in|out|auto ID...] */
	char quar_action;	/* 'l' list, 'i' in, 'o' out, 'a' auto */
	const char *junit;	/* --junit-xml PATH (absolute) */
	int lava;		/* --lava: LAVA test-shell signals on stdout */
	int led;		/* mtest led: the LED daemon */
	int self_check;		/* --self-check */
	int led_show;		/* --show CODE (enum mt_led_code); MT_LED_COUNT: none */
	int led_lamp;		/* --lamp-test */
	int led_codes;		/* --codes: print the table of LED codes */
	int64_t led_for_us;	/* --for: how long --show shows; -1 until stopped */
	const char *board_name;	/* --board, MTEST_BOARD or the config's board */
	const struct mt_board *board;	/* loaded, or NULL */
	int resume;		/* --resume */
	const char *resume_run;	/* the run folder a resumed run continues */
	int help, version;
	const char *python;	/* resolved: see mt_opts_resolve */
	const char *python_how;	/* where it came from */
	const char *state_dir;	/* --state-dir, MTEST_STATE_DIR or config */
	const char *config;	/* the config file read, or NULL */
	int64_t timeout_us;	/* --timeout; -1 when not given */
	int64_t kill_grace_us;
	int64_t collect_timeout_us;
	int64_t run_timeout_us;	/* -1: none */
	uint32_t max_tests;	/* --max-tests, at most MT_TESTS_MAX */
	int64_t deadlock_after_us;	/* a certain deadlock ends the test */
	int64_t likely_after_us;	/* a likely one, unless a legitimate wait */
	int64_t capture_after_us;	/* stacks of any test running longer; -1 */
	int lock_ledger;		/* the plugin keeps the lock ledger (docs/watchdog.md) */
	int64_t leak_grace_us;		/* how long a test's threads may outlive it */
	double timeout_scale;		/* --timeout-scale: times every test's timeout,
					   --collect-timeout and the deadlock windows */
	const char *timeout_scale_how;	/* where it came from */
	enum mt_restart restart_on_dirty;
	enum mt_isolate isolate;
	int recheck;
	int spawn;		/* --spawn: no zygote; every worker a new Python */
	const char *cgroup;	/* MTEST_CGROUP or the config's cgroup: auto, off, a path */
	/* Limits (the config, else the board file's; docs/dirt.md): bytes,
	 * -1 when none; weights 0 when none. */
	int64_t memory_max, memory_high, lane_memory_max, lane_memory_high;
	int cpu_weight, io_weight;
	unsigned keep;		/* run folders kept in the state directory */
	int lanes;		/* -j: workers side by side */
	int tier_lo, tier_hi;	/* --tier: 0-3 when not given */
	int shard_k, shard_n;	/* --shard K/N (K from 1); 0/0 when none */
	int64_t budget_us;	/* --budget; -1 when none */
	int fail_fast;		/* --fail-fast */
	int kmsg_markers;	/* --kmsg-markers: a start and end line per test in the
				   kernel's log, as root (docs/box.md) */
	const struct mt_groupdef *groups;	/* the config's exclusive groups */
	int ngroups;
	enum mt_dist dist;	/* --dist: what a lane takes */
	enum mt_progress_mode progress;
	char **paths;		/* positional: paths and node ids */
	int npaths;
	char **pytest_args;	/* after "--" */
	int npytest;
	char **argv;		/* the whole command line */
	int argc;
};

/* A timeout times --timeout-scale (0, no limit, stays 0). */
static inline int64_t mt_scale_us(int64_t us, double scale)
{
	return us <= 0 || scale == 1.0 ? us : (int64_t)((double)us * scale + 0.5);
}

/* "2", "0.5": a --timeout-scale from 0.1 to 100. Returns 1, or 0. */
int mt_parse_scale(const char *s, double *out);

/* Parse argv and the config file. Returns 1, or 0 after printing one line
 * naming the problem (exit code MT_EXIT_USAGE). */
int mt_cli_parse(struct mt_opts *o, int argc, char **argv);
/* The config file's text (NUL-terminated, split into lines in place), as
 * read from path, which messages name. Returns 1, or 0 after one line
 * naming file and line. mt_cli_parse uses what it sets where neither the
 * command line nor the environment says. Split from the reading for tests. */
int mt_cli_parse_config(char *text, const char *path);
void mt_cli_help(void);
/* The pytest option that fights mtest in args, or NULL. */
const char *mt_cli_refused(char **args, int n);
/* Seconds ("2", "1.5", "500ms", "2s", "5m", "1h") to microseconds. */
int mt_parse_duration(const char *s, int64_t *us);

#endif
