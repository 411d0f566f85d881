/* mtest: the table of a run's tests and their verdicts.
 *
 * mt_run_decide() is the only place that gives a test its verdict, and it
 * gives each test exactly one: a second decision is refused and reported.
 * Strings live in one arena, filled as the run goes and never freed.
 */
#ifndef MTEST_RUN_H
#define MTEST_RUN_H

#include <stdint.h>

#include "mtest/limits.h"

enum mt_verdict {
	MT_V_NONE = 0,
	MT_V_PASSED,
	MT_V_FAILED,
	MT_V_ERROR,
	MT_V_SKIPPED,
	MT_V_XFAILED,
	MT_V_XPASSED,
	MT_V_HUNG,
	MT_V_CRASHED,
	MT_V_NOT_RUN,
	MT_V_COLLECTION_ERROR,
	MT_V_COUNT
};

enum mt_kind { MT_KIND_TEST = 0, MT_KIND_FILE = 1 };

#define MT_NONE UINT32_MAX

/* One per test, kept to 64 bytes: a run holds up to MT_TESTS_MAX of them
 * and its peak memory grows with each (docs/architecture.md, Memory). */
struct mt_test {
	uint32_t id;		/* arena offsets; 0 is the empty string */
	uint32_t why;		/* its words (struct mt_why) + 1, or 0: none */
	uint32_t bundle;
	uint32_t recheck;	/* --recheck's class, arena offset */
	uint32_t file;		/* index in files, or MT_NONE */
	uint32_t line;
	uint32_t seen_by;	/* the last collection that had it (sup's count) */
	uint16_t worker;
	uint8_t kind;
	uint8_t verdict;
	int64_t timeout_us;	/* from its timeout marker, or -1 */
	int64_t duration_us;
	int64_t start_us;	/* monotonic, when it started (0 if never) */
	uint8_t attempt;
	uint8_t started;
	uint8_t tier;		/* 0..3, from its markers (docs/planning.md) */
	uint8_t resumed;	/* in flight when the run it resumes stopped */
	uint8_t quarantined;	/* its bad verdict does not fail the run */
	uint8_t noted;		/* MT_NOTED_*: told to durations, quarantine already (--resume) */
	uint8_t planned;	/* not_run by the plan (tier, shard, budget) */
	uint8_t gone;		/* no longer in the suite (--resume): apart, not counted */
};

/* Which of the state directory's stores took a verdict (mt_test.noted). */
#define MT_NOTED_DURATIONS 1
#define MT_NOTED_QUARANTINE 2

/* A verdict's words, arena offsets: held apart, for the tests that have
 * any (a passed test has none). mt_run_reason() and its kin read them. */
struct mt_why {
	uint32_t reason;
	uint32_t detail;
	uint32_t tbtail;
};

struct mt_file {
	uint32_t rel;		/* as pytest names it, relative to rootdir */
	uint32_t abs;		/* absolute path, for later workers */
	uint32_t pending;	/* its tests still without a verdict */
};

/* What a verdict says; strings are copied into the arena. */
struct mt_vinfo {
	enum mt_verdict verdict;
	const char *reason;
	const char *detail;	/* crash line: "path:line: message" */
	const char *tbtail;	/* last lines of the traceback */
	const char *bundle;	/* path of its bundle, relative to last-run */
	const char *capture;	/* stacks taken by --capture-after, likewise */
	int64_t duration_us;
	int64_t start_wall_us;
	int64_t end_wall_us;
	int64_t mem_kib;	/* its peak memory (docs/dirt.md); <= 0 unknown */
	int worker;
	int lane;		/* 1, 2, ... (-j); 0 if none */
	int attempt;
	const char *started;	/* "clean", "dirty", "restarted", or NULL */
	int dirty_event;	/* the dirty event it started after, or 0 */
	int planned;		/* not_run by the plan (tier, shard, budget): not incomplete */
	const char *kernel_kind;	/* the worst kernel line's kind while it ran, or NULL */
	const char *kernel_line;	/* that line */
	uint32_t kernel_lines;	/* lines in the kernel's log while it ran */
	const char *tainted;	/* the taint flags it brought, decoded, or NULL */
	const char *id;		/* only for a test without a slot */
	const char *file;	/* likewise */
};

struct mt_run;
typedef void mt_verdict_fn(void *ctx, struct mt_run *run, uint32_t slot,
			   const struct mt_vinfo *v);

struct mt_run {
	struct mt_test t[MT_TESTS_MAX];
	uint32_t n;
	struct mt_file f[MT_FILES_MAX];
	uint32_t nf;
	uint32_t mem_kib[MT_TESTS_MAX];	/* each test's peak memory, 0 unknown (apart:
						 * touched only when measured) */
	uint32_t tidx[2 * MT_TESTS_MAX];	/* open hashing: slot + 1 */
	uint32_t fidx[2 * MT_FILES_MAX];
	struct mt_why why[MT_TESTS_MAX];
	uint32_t nwhy;
	char arena[MT_ARENA_BYTES];
	uint32_t arena_len;
	uint32_t last_str;	/* the last string interned, reused when repeated */
	uint32_t last_file;	/* the last file added or found */
	uint32_t count[MT_V_COUNT];
	uint32_t ntests;	/* tests (not files) known, stored or not */
	uint32_t nfiles_bad;	/* collection errors */
	uint32_t decided;	/* tests (not files) with a verdict */
	uint32_t over_limit;	/* tests that did not fit a table */
	const char *limit;	/* name of the first limit hit */
	uint32_t refused;	/* second decisions refused (bugs) */
	uint32_t planned;	/* not_run verdicts the plan gave */
	uint32_t quar_bad;	/* bad verdicts of quarantined tests */
	uint32_t quar;		/* verdicts of quarantined tests */
	uint32_t gone;		/* tests no longer in the suite (mt_run_gone) */
	mt_verdict_fn *on_verdict;
	void *ctx;
};

/* Empty the table; the first time, it must be zeroed (a static table). */
void mt_run_init(struct mt_run *r, mt_verdict_fn *fn, void *ctx);
const char *mt_run_str(const struct mt_run *r, uint32_t off);
/* A decided test's reason, crash line and traceback tail ("" if none). */
const char *mt_run_reason(const struct mt_run *r, const struct mt_test *t);
const char *mt_run_detail(const struct mt_run *r, const struct mt_test *t);
const char *mt_run_tbtail(const struct mt_run *r, const struct mt_test *t);
/* Copy a string into the arena; 0 (the empty string) if it is full. */
uint32_t mt_run_intern(struct mt_run *r, const char *s);

/* Add a test or a file entry; returns its slot, or MT_NONE when a table
 * or the arena is full (then r->limit names the limit). */
uint32_t mt_run_add(struct mt_run *r, enum mt_kind kind, const char *id,
		    const char *file_rel, const char *file_abs, uint32_t line,
		    int64_t timeout_us);
uint32_t mt_run_find(const struct mt_run *r, enum mt_kind kind, const char *id);
uint32_t mt_run_find_file(const struct mt_run *r, const char *rel);
/* A file's absolute path, if it had none yet (a resumed run's). */
void mt_run_file_abs(struct mt_run *r, uint32_t f, const char *abs);

/* Give a stored test its verdict. Returns 1, or 0 if it already had one. */
int mt_run_decide(struct mt_run *r, uint32_t slot, const struct mt_vinfo *v);
/* A test that did not fit: counted, and reported through the callback
 * with slot MT_NONE (the callback gets its id from v->id). */
void mt_run_decide_unstored(struct mt_run *r, enum mt_kind kind, const struct mt_vinfo *v);
/* not_run with `reason` for every test still without a verdict. */
void mt_run_settle_rest(struct mt_run *r, const char *reason, const char *detail);
/* The same, as the plan's: the budget's end (not a run left incomplete). */
void mt_run_settle_rest_planned(struct mt_run *r, const char *reason, const char *detail);
/* A test of a resumed run that the suite no longer has: its verdict (if
 * any) is kept, reported apart, and no longer counted anywhere. */
void mt_run_gone(struct mt_run *r, uint32_t slot);
/* Tests still without a verdict. */
uint32_t mt_run_left(const struct mt_run *r);

const char *mt_verdict_name(enum mt_verdict v);
enum mt_verdict mt_verdict_parse(const char *s);
/* failed, error, hung, crashed, collection_error: a reason for exit 1. */
int mt_verdict_is_bad(enum mt_verdict v);

/* Exit codes (docs/exit-codes.md); precedence: 3 > 2 > 4 > 1 > 6 > 5 > 0. */
enum mt_exit {
	MT_EXIT_OK = 0,
	MT_EXIT_FAILED = 1,
	MT_EXIT_INTERRUPTED = 2,
	MT_EXIT_INTERNAL = 3,
	MT_EXIT_USAGE = 4,
	MT_EXIT_NO_TESTS = 5,
	MT_EXIT_INCOMPLETE = 6,
	MT_EXIT_BUSY = 7,	/* another mtest holds the state directory */
};
int mt_run_exit_code(const struct mt_run *r);

#endif
