/* mtest: every table and buffer size, in one place.
 *
 * The supervisor allocates nothing after start-up: each table below is a
 * static array of this size. When a table is full, mtest says which limit
 * was hit (by the macro's name) and the run goes on; tests that do not fit
 * end as not_run with reason "over a limit". Raise a limit here and rebuild.
 */
#ifndef MTEST_LIMITS_H
#define MTEST_LIMITS_H

/* Tests (collected items plus files that failed to collect) in one run. */
#define MT_TESTS_MAX 16384
/* Distinct test files in one run. */
#define MT_FILES_MAX 4096
/* Bytes of node ids, file paths, reasons and details, stored once per run. */
#define MT_ARENA_BYTES (4u << 20)
/* A node id longer than this (bytes) is cut and ends in "~" + 16 hex digits
 * of a hash of the whole id, so that it stays unique. */
#define MT_ID_MAX 1024
/* A file path (bytes). */
#define MT_PATH_MAX 4096

/* One event line from the plugin, newline included. The plugin caps its
 * fields so that every line fits; a longer line is a protocol error. */
#define MT_LINE_MAX (64u << 10)
/* jsmn tokens for one event line or one record. */
#define MT_JSON_TOKENS 256
/* Failure text (pytest's longrepr) kept per failing phase. */
#define MT_TEXT_MAX (16u << 10)
/* Captured stdout, stderr and log text kept per failure (tail). */
#define MT_TAIL_MAX (4u << 10)
/* All failure text of the test in flight (phases, output tails). */
#define MT_FAILBUF_MAX (64u << 10)
/* Short reason of a verdict ("setup: RuntimeError"). */
#define MT_REASON_MAX 160
/* Crash line of a failure ("path:line: message"). */
#define MT_DETAIL_MAX 512
/* Last lines of a traceback kept in the run record for --report. */
#define MT_TBTAIL_MAX 1024
/* Markers reported per test, and the length of one marker name. */
#define MT_MARKERS_MAX 16
#define MT_MARKER_NAME_MAX 64
/* Exclusive groups (docs/planning.md): of a run (by the marker
 * mtest_group and the config's group.NAME keys; the last is shared by
 * every group beyond), of one test, a name's length, and the bytes of one
 * group's patterns in the config file. */
#define MT_GROUPS_MAX 32
#define MT_TEST_GROUPS_MAX 8
#define MT_GROUP_NAME_MAX 64
#define MT_GROUP_PATTERNS 1024

/* Ring buffer of a worker's console (stdout and stderr of pytest). */
#define MT_CONSOLE_RING (64u << 10)
/* Bytes of all workers' console kept in last-run/console.log. */
#define MT_CONSOLE_LOG_MAX (16u << 20)

/* Durations kept per test in <state>/durations.json, and the bytes of its
 * test ids held in memory. */
#define MT_HISTORY_RUNS 5
#define MT_HISTORY_BYTES (2u << 20)

/* Shards of a suite (--shard K/N). */
#define MT_SHARDS_MAX 1024

/* Lanes: workers running side by side (-j N). */
#define MT_LANES_MAX 8

/* Worker command line: arguments and their bytes. A run may be given a
 * node id for every test it can hold (MT_TESTS_MAX); Linux takes up to a
 * quarter of the stack limit (2 MiB by default) for a command line. The
 * journal keeps it whole: run_start and "argv" records after it, each
 * within MT_RECORD_MAX (docs/formats.md). */
#define MT_ARGV_MAX 16384
#define MT_ARGV_BYTES (1u << 20)
/* Worker environment: variables and their bytes. */
#define MT_ENV_MAX 1024
#define MT_ENV_BYTES (256u << 10)
/* Files that failed to collect by hanging or crashing a worker, passed to
 * the next worker as --ignore. */
#define MT_IGNORES_MAX 256
/* Test indices in one control line to a worker. */
#define MT_CONTROL_BATCH 256
/* Control bytes queued for a worker that has not read them yet. */
#define MT_CONTROL_BUF (64u << 10)

/* Processes seen in one /proc scan when sweeping a run's leftovers. */
#define MT_PROCS_MAX 4096
/* Passes of kill-and-rescan before mtest gives up on a process tree, and
 * the time between two passes (microseconds). */
#define MT_SWEEP_PASSES 50
#define MT_SWEEP_EVERY_US 2000
/* How long mtest waits for a worker to die after SIGKILL before it goes on
 * without it (a process stuck in the kernel, state D). */
#define MT_KILL_GIVEUP_US 10000000

/* Run folders in a state directory that --keep considers (the oldest
 * beyond --keep are removed at the end of each run). */
#define MT_RUNS_MAX 1024
/* A run folder's name, <stamp>-<pid>[.k], with its NUL. */
#define MT_RUN_NAME_MAX 64

/* One record in run.jsonl (a test verdict with its traceback tail). */
#define MT_RECORD_MAX (32u << 10)
/* Run events (worker restarts, orphans, limits) kept for the summary. */
#define MT_EVENTS_MAX 256
#define MT_EVENT_TEXT_MAX 256
/* Output buffer for summary.md, bundles and --report (flushed when full). */
#define MT_OUTBUF 8192

/* Threads of a worker seen in one sample, and named by the plugin. */
#define MT_THREADS_MAX 1024
/* Processes below a worker seen in one sample. */
#define MT_CHILDREN_MAX 64
/* A stuck test is sampled at this interval (microseconds), starting once
 * it has run this long. */
#define MT_SAMPLE_EVERY_US 500000
#define MT_WATCH_AFTER_US 500000
/* Native and Python frames kept per thread by the stack capture. */
#define MT_FRAMES_MAX 64
/* Bytes of one capture's text (diagnosis, stacks of every thread). */
#define MT_CAPTURE_MAX (1u << 20)
/* The worker faulthandler's tracebacks kept in a bundle. */
#define MT_PYTB_MAX (64 * 1024)
/* The lock ledger a worker keeps (src/plugin/mtest_locks.py): locks
 * tracked at once, threads waiting at once, places (file, line) recorded.
 * A full table is counted in it and named in the bundle; the locks made
 * meanwhile are not tracked. The capture helper reads at most
 * MT_LEDGER_READ_MAX bytes of it. */
#define MT_LEDGER_LOCKS 4096
#define MT_LEDGER_WAITS MT_THREADS_MAX
#define MT_LEDGER_SITES 2048
#define MT_LEDGER_READ_MAX (64u << 20)
/* A capture helper that has not finished after this long is killed. */
#define MT_CAPTURE_TIMEOUT_US 10000000

/* Dirty state (docs/dirt.md): module and session fixtures that own
 * threads or processes, and how many of each one reports; tests whose
 * leak check waits; long-lived children watched for their death; dirty
 * events of a run; tests rechecked by --recheck. */
#define MT_FIXTURES_MAX 64
#define MT_FIXTURE_ITEMS 32
#define MT_CHECKS_MAX 512
#define MT_HELPERS_MAX 16
#define MT_DIRTY_MAX 128
#define MT_RECHECKS_MAX 256
/* Threads and processes below a worker in one fence scan, and those first
 * seen at a test's end fence (its candidates, docs/dirt.md). */
#define MT_SCAN_MAX (MT_THREADS_MAX + MT_PROCS_MAX / 4)
#define MT_CANDS_MAX 512

/* How long a worker may take to exit after its session said goodbye, when
 * --kill-grace is 0 (which means SIGKILL at once for a kill). */
#define MT_EXIT_GRACE_US 1000000
/* How long a worker may take to end its session after pytest.exit() or a
 * KeyboardInterrupt in a test (at least --kill-grace). */
#define MT_SESSION_END_US 5000000

/* How long mtest lets a running worker's events gather before reading
 * them (microseconds): fewer wake-ups, less overhead per test. */
#define MT_COALESCE_US 2000
/* Shorter than this until the worker waits for mtest, they are read at
 * once: a window that short would save no wake-up. */
#define MT_COALESCE_MIN_US (MT_COALESCE_US / 8)
/* A worker's CLOCK_MONOTONIC stamp older than this when read is taken for
 * a wrong one (the events of a stopped run, a clock that is not ours). */
#define MT_STAMP_AGE_MAX_US 10000000

/* A worker that dies twice in a row without a new verdict stops the run. */
#define MT_DEATHS_WITHOUT_PROGRESS 2

/* The kernel's lines kept per test (bytes, whole lines: the rest are
 * counted), the longest line a summary keeps, and the OOM killer's
 * victims named per test (docs/box.md). */
#define MT_KMSG_BYTES (8u << 10)
#define MT_KMSG_LINE_MAX 256
#define MT_KMSG_VICTIMS 8
/* Kernel log records read past a test's end, kept for the next (bytes). */
#define MT_KMSG_HELD 2048

/* LEDs of a board file; the board file's size; a name in it. */
#define MT_LEDS_MAX 8
#define MT_BOARD_BYTES (16u << 10)
#define MT_BOARD_NAME_MAX 128

#endif
