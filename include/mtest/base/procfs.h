/* mtest: the one reader of /proc. Every stat field, start time, child list,
 * task list and command line that mtest looks at is parsed here, so that
 * the watchdog, the dirt checks and the sweeps see processes the same way.
 * Start times are clock ticks after boot (/proc/PID/stat field 22); the
 * clock rate is read on first use, so no caller depends on an init step. */
#ifndef MTEST_PROCFS_H
#define MTEST_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mt_proc {
	pid_t pid, ppid, pgid, sid;
	char state;			/* R S D Z T t X I ... */
	unsigned flags;			/* PF_* (field 9) */
	unsigned long long start;	/* clock ticks after boot */
	int exit_code;			/* wait status of a zombie (field 52), else 0 */
	char comm[32];
};

/* /proc/PID/stat (or /proc/PID/task/TID/stat). Returns 1, or 0 if the
 * process is gone or the file does not parse. */
int mt_proc_stat(pid_t pid, struct mt_proc *p);
int mt_task_stat(pid_t pid, pid_t tid, struct mt_proc *p);
/* Is this (pid, start) the same process, alive (not a zombie)? */
int mt_proc_is(pid_t pid, unsigned long long start);
/* Is the process gone, a zombie, or inside exit() (PF_EXITING)? Its end
 * is then for the reaper to tell, not for whoever saw its pipes close. */
int mt_proc_ending(pid_t pid);

/* Threads of pid (tids, from /proc/PID/task); *more set when some did not
 * fit. Returns the count. */
int mt_proc_tasks(pid_t pid, pid_t *out, int max, int *more);
/* Every live (non-zombie) descendant of root, breadth first, at most
 * `max`, with their stat; *more set when some did not fit. */
int mt_proc_descendants(pid_t root, struct mt_proc *out, int max, int *more);

/* The command line, spaces for NULs, or the executable, or `fallback`.
 * Returns 1 if the command line itself was read (right after an exec it
 * is briefly empty: callers may read again later). */
int mt_proc_cmdline(pid_t pid, const char *fallback, char *out, size_t cap);
/* "exit 1", "SIGKILL": how a zombie with this start time ended, else
 * "unknown" (returns 0). */
int mt_proc_exit_status(pid_t pid, unsigned long long start, char *out, size_t cap);

/* The value of NAME in a process's environment (as it was at its exec),
 * into out; 1 if found. */
int mt_proc_env(pid_t pid, const char *name, char *out, size_t cap);

/* Start ticks to CLOCK_MONOTONIC microseconds, and one tick in us. */
int64_t mt_proc_born_us(unsigned long long start_ticks);
int64_t mt_proc_tick_us(void);

#endif
