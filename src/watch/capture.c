/* mtest: the stack-capture helper. Everything below mt_capture_start runs
 * in the forked helper process, which may allocate (libdw does). */
#include "mtest/watch/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/base/procfs.h"
#include "mtest/watch/ledger.h"
#include "mtest/watch/pyframes.h"
#include "mtest/watch/unwind.h"
#include "mtest/watch/waitfor.h"

/* ---- the helper ---------------------------------------------------------- */

struct thread {
	pid_t tid;
	int seized, stopped, sig;
	int nn;
	struct mt_nframe n[MT_FRAMES_MAX];
	const struct mt_pythread *py;
	const struct mt_tdiag *d;
	char name[72];
	struct mt_wfview *v;		/* its view in the wait-for words */
};

/* The helper's tables: tens of megabytes at their limits, so they live on
 * the helper's heap (calloc at its start), never in the supervisor. */
static struct thread *th;
static int nth;
static struct mt_pythread *py;
static int npy;
/* The lock ledger read while the worker stood still, and the wait-for
 * graph of it (on the helper's heap too). */
static unsigned char *lgbytes;
static struct mt_ledger lg;
static int have_lg;
static char lgerr[160];
static struct mt_wfgraph *wfg;
static struct mt_wfview *views;
static struct mt_wfthread *wft;
static struct mt_wfctx wfc;
/* CPython's own RLocks the threads wait for, as read while stopped (by
 * index in py[]). */
static struct mt_pyrlock *prl;
static unsigned char *has_prl;

static int seized(pid_t tid)
{
	int i;

	for (i = 0; i < nth; i++)
		if (th[i].tid == tid)
			return 1;
	return 0;
}

/* Seize and interrupt every thread, rescanning until no new one shows
 * (threads may be starting while we stop them). */
static int stop_all(pid_t pid, unsigned long long want, char *err, size_t cap)
{
	struct mt_proc self;
	struct mt_dir d;
	char path[64];
	const char *name;
	int pass, fresh, i, st;
	pid_t tid;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	for (pass = 0; pass < 8; pass++) {
		fresh = 0;
		if (!mt_dir_open(&d, AT_FDCWD, path)) {
			snprintf(err, cap, "cannot list threads: %s", strerror(errno));
			return 0;
		}
		while ((name = mt_dir_next(&d, NULL)) && nth < MT_THREADS_MAX) {
			tid = (pid_t)atoi(name);
			if (seized(tid))
				continue;
			th[nth].tid = tid;
			if (ptrace(PTRACE_SEIZE, tid, 0, 0) == 0) {
				th[nth].seized = 1;
				ptrace(PTRACE_INTERRUPT, tid, 0, 0);
			} else if (errno == EPERM && !strstr(err, "refused")) {
				snprintf(err, cap, "ptrace refused (%s): Yama's ptrace_scope or "
					 "a container may forbid it", strerror(errno));
			}
			nth++;
			fresh++;
		}
		mt_dir_close(&d);
		if (!fresh)
			break;
	}
	/* A seized process cannot be reaped, so its pid cannot be reused:
	 * if the worker is the one asked for now (its start time), every
	 * thread seized from its task list is its own. If it is not (it died
	 * and was reaped before the seize, and the pid went to another
	 * process), let go of everything. */
	if (!mt_proc_stat(pid, &self) || self.start != want) {
		for (i = 0; i < nth; i++)
			if (th[i].seized)
				ptrace(PTRACE_DETACH, th[i].tid, 0, 0);
		nth = 0;
		snprintf(err, cap, "the worker is gone (its pid is another process's now)");
		return 0;
	}
	for (i = 0; i < nth; i++) {
		if (!th[i].seized)
			continue;
		/* Any stop will do: the interrupt's, or a signal's (kept and
		 * handed back at detach). */
		if (waitpid(th[i].tid, &st, __WALL) == th[i].tid && WIFSTOPPED(st)) {
			th[i].stopped = 1;
			if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP && WSTOPSIG(st) != SIGSTOP)
				th[i].sig = WSTOPSIG(st);
		} else {
			th[i].seized = 0;	/* it exited */
		}
	}
	return 1;
}

static void detach_all(void)
{
	int i;

	for (i = 0; i < nth; i++)
		if (th[i].seized)
			ptrace(PTRACE_DETACH, th[i].tid, 0, (void *)(long)th[i].sig);
}

/* One process below the worker: its state, and its main thread's native
 * stack where ptrace allows. */
static void capture_child(struct mt_buf *o, const struct mt_psample *p)
{
	struct mt_nframe frames[MT_FRAMES_MAX];
	char err[160] = "";
	int n = 0, st, i, sig = 0;

	mt_buf_printf(o, "\nProcess %d %s (state %c, parent %d): %s; read %llu, written %llu "
		      "bytes\n", (int)p->pid, p->comm, p->state, (int)p->ppid, mt_wait_name(p->wait),
		      (unsigned long long)p->rchar, (unsigned long long)p->wchar);
	if (!mt_unwind_begin(p->pid, err, sizeof err)) {
		mt_buf_printf(o, "  native stack: %s\n", err);
		return;
	}
	if (ptrace(PTRACE_SEIZE, p->pid, 0, 0) == 0) {
		struct mt_proc now;

		/* Seized, it cannot be reaped: is it still the one sampled
		 * (up to half a second ago), or another that got its pid? */
		if (!mt_proc_stat(p->pid, &now) || now.start != p->start) {
			ptrace(PTRACE_DETACH, p->pid, 0, 0);
			mt_buf_puts(o, "  native stack: it exited (its pid is another process's now)\n");
			mt_unwind_end();
			return;
		}
		ptrace(PTRACE_INTERRUPT, p->pid, 0, 0);
		if (waitpid(p->pid, &st, __WALL) == p->pid && WIFSTOPPED(st)) {
			/* A signal that stopped it first is handed back. */
			if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP && WSTOPSIG(st) != SIGSTOP)
				sig = WSTOPSIG(st);
			if (mt_unwind_attach(p->pid, err, sizeof err))
				n = mt_unwind_pcs(p->pid, frames, MT_FRAMES_MAX);
		}
		ptrace(PTRACE_DETACH, p->pid, 0, (void *)(long)sig);
	} else {
		snprintf(err, sizeof err, "ptrace refused: %s", strerror(errno));
	}
	if (!n)
		mt_buf_printf(o, "  native stack: %s\n", err[0] ? err : "none");
	for (i = 0; i < n; i++) {
		mt_unwind_symbol(&frames[i]);
		mt_buf_printf(o, "    #%-2d 0x%016llx %s%s+0x%llx (%s)\n", i,
			      (unsigned long long)frames[i].pc,
			      frames[i].sym[0] ? frames[i].sym : "??", "",
			      (unsigned long long)frames[i].off, frames[i].module);
	}
	mt_unwind_end();
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* "in f (file.py:12)", from the innermost Python frame (not the lock
 * ledger's wrapper: the code that called it). */
static void where(struct mt_buf *o, const struct thread *t)
{
	const struct mt_pyframe *f = mt_wf_frame(t->py);

	if (!f) {
		if (t->nn && t->n[0].sym[0])
			mt_buf_printf(o, " in %s (native)", t->n[0].sym);
		return;
	}
	mt_buf_printf(o, " in %s (%s:%d)", f->func, base(f->file), f->line);
}

static int same_place(const struct thread *a, const struct thread *b)
{
	const struct mt_pyframe *fa = mt_wf_frame(a->py), *fb = mt_wf_frame(b->py);

	if (!fa || !fb)
		return !fa && !fb;
	return strcmp(fa->func, fb->func) == 0 && strcmp(fa->file, fb->file) == 0 &&
	       fa->line == fb->line;
}

#define NAMES_SHOWN 4

/* "A", "A and B", "A, B, C, D and 5 others" */
static void names_list(struct mt_buf *o, struct thread **list, int n)
{
	int i, shown = n <= NAMES_SHOWN + 1 ? n : NAMES_SHOWN;

	for (i = 0; i < shown; i++)
		mt_buf_printf(o, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ",
			      list[i]->name);
	if (shown < n)
		mt_buf_printf(o, " and %d others", n - shown);
}

enum role { ROLE_MAIN, ROLE_SAME_LOCK, ROLE_OTHER_LOCK, ROLE_REST, ROLE_TOLD };

static enum role role_of(const struct thread *t, const struct thread *main_t)
{
	if (t->v && t->v->told)
		return ROLE_TOLD;	/* named by the wait-for graph's clause */
	if (t == main_t)
		return ROLE_MAIN;
	if (!t->d || !t->d->stalled)
		return ROLE_REST;
	if (main_t && main_t->d && main_t->d->stalled && t->d->group == main_t->d->group)
		return ROLE_SAME_LOCK;
	return ROLE_OTHER_LOCK;
}

/* One clause per place for the threads of a role: "A and B wait for the
 * same lock in f (x.py:3)". */
static pid_t crashed_tid;	/* for the clauses of a crash */
/* CPython 3.13+ parks a lock's waiters each on a semaphore of its own: the
 * futex words no longer tell one lock from another, so no clause may say
 * "another lock". */
static int parked_locks;

static void clauses(struct mt_buf *o, enum role role, const struct thread *main_t,
		    int *first)
{
	static struct thread *list[MT_THREADS_MAX];
	static unsigned char done[MT_THREADS_MAX];
	int i, j, n;

	memset(done, 0, sizeof done);
	for (i = 0; i < nth; i++) {
		if (done[i] || role_of(&th[i], main_t) != role)
			continue;
		for (n = 0, j = i; j < nth; j++)
			if (!done[j] && role_of(&th[j], main_t) == role &&
			    same_place(&th[i], &th[j])) {
				list[n++] = &th[j];
				done[j] = 1;
			}
		mt_buf_puts(o, *first ? ": " : "; ");
		*first = 0;
		names_list(o, list, n);
		if (role == ROLE_SAME_LOCK)
			mt_buf_printf(o, " %s the same lock", n > 1 ? "wait for" : "waits for");
		else if (role == ROLE_OTHER_LOCK && parked_locks)
			mt_buf_printf(o, " %s", n > 1 ? "wait for locks" : "waits for a lock");
		else if (role == ROLE_OTHER_LOCK)
			mt_buf_printf(o, " %s", n > 1 ? "wait for other locks" :
							"waits for another lock");
		else if (th[i].tid == crashed_tid)
			mt_buf_puts(o, " crashed");
		else if (!th[i].d)
			mt_buf_puts(o, " is here");
		else if (th[i].d->wait == MT_WAIT_RUN)
			mt_buf_printf(o, " runs (%d%% CPU)", th[i].d->cpu_pct);
		else
			mt_buf_printf(o, " %s", mt_wait_name(th[i].d->wait));
		where(o, &th[i]);
	}
}

/* The wait-for graph makes a likely deadlock, or a test thread stalled
 * beside an active thread, a certain one; a timeout's class too. */
static int upgraded(const struct mt_capture_req *r)
{
	return mt_wf_certain(wfg->end) && !r->crash_tid &&
	       (strncmp(r->kind, "DEADLOCK", 8) == 0 || strcmp(r->kind, "STALLED") == 0 ||
		strcmp(r->kind, "TIMEOUT") == 0);
}

static const char *kind_of(const struct mt_capture_req *r)
{
	return upgraded(r) && strcmp(r->kind, "TIMEOUT") != 0 ? "DEADLOCK (certain)" : r->kind;
}

static const char *hang_of(const struct mt_capture_req *r)
{
	if (!upgraded(r))
		return r->hang;
	return strcmp(r->kind, "TIMEOUT") == 0 ? "deadlock (certain)" : NULL;
}

static const char *legit_wait(const struct thread *t);

/* The test thread waits for a lock that the graph does not know (it is not
 * a join, a queue or a condition): say why its holder cannot be named. */
static void unknown_holder(struct mt_buf *o, const struct mt_capture_req *r,
			   const struct thread *main_t)
{
	if (wfg->end != MT_WF_NONE || !main_t->d || main_t->d->wait != MT_WAIT_LOCK ||
	    strcmp(legit_wait(main_t), "none") != 0)
		return;
	if (have_lg)
		mt_buf_puts(o, ", whose holder is not known (a lock the ledger does not track: made "
			    "before mtest's plugin loaded, or with _thread)");
	else if (!r->rlock_type || !r->interp || !mt_py_supported(r->hexversion))
		mt_buf_printf(o, ", whose holder is not known (no lock ledger; CPython's RLock "
			      "owners are not read from Python %ld.%ld)", (r->hexversion >> 24) & 0xff,
			      (r->hexversion >> 16) & 0xff);
	else
		mt_buf_puts(o, ", whose holder is not known (no lock ledger, and a Lock keeps no "
			    "owner)");
}

/* The diagnosis, in one line (docs/watchdog.md gives examples). */
static void headline(struct mt_buf *o, const struct mt_capture_req *r, struct thread *main_t)
{
	static const char *const rest_many[MT_WAIT_COUNT] = {
		[MT_WAIT_RUN] = "run", [MT_WAIT_LOCK] = "wait for locks",
		[MT_WAIT_LOCK_SHARED] = "wait for locks shared with other processes",
		[MT_WAIT_TIMED] = "sleep in timed waits", [MT_WAIT_IO] = "wait on I/O",
		[MT_WAIT_CHILD] = "wait for child processes", [MT_WAIT_SIGNAL] = "wait for signals",
		[MT_WAIT_OTHER] = "are in other system calls",
	};
	static const char *const rest_one[MT_WAIT_COUNT] = {
		[MT_WAIT_RUN] = "runs", [MT_WAIT_LOCK] = "waits for a lock",
		[MT_WAIT_LOCK_SHARED] = "waits for a lock shared with another process",
		[MT_WAIT_TIMED] = "sleeps in a timed wait", [MT_WAIT_IO] = "waits on I/O",
		[MT_WAIT_CHILD] = "waits for a child process", [MT_WAIT_SIGNAL] = "waits for a signal",
		[MT_WAIT_OTHER] = "is in another system call",
	};
	int counts[MT_WAIT_COUNT] = { 0 };
	int i, k, first = 1;

	crashed_tid = r->crash_tid;
	mt_buf_printf(o, "%s after ", kind_of(r));
	mt_buf_secs(o, r->stalled_us, 1);
	if (hang_of(r))
		mt_buf_printf(o, " s (%s)", hang_of(r));
	else
		mt_buf_puts(o, " s without progress");
	if (!main_t) {
		mt_buf_puts(o, ": the test thread was not found.");
		return;
	}
	if (mt_wf_clause(o, &wfc))
		first = 0;
	clauses(o, ROLE_MAIN, main_t, &first);
	unknown_holder(o, r, main_t);
	clauses(o, ROLE_SAME_LOCK, main_t, &first);
	clauses(o, ROLE_OTHER_LOCK, main_t, &first);
	for (i = 0; i < nth; i++)
		if (role_of(&th[i], main_t) == ROLE_REST && th[i].d)
			counts[th[i].d->wait]++;
	for (k = 0; k < MT_WAIT_COUNT; k++)
		if (counts[k])
			mt_buf_printf(o, "; %d other thread%s %s", counts[k],
				      counts[k] == 1 ? "" : "s",
				      counts[k] == 1 ? rest_one[k] : rest_many[k]);
	mt_buf_putc(o, '.');
}

/* Does the test thread wait in a join, a queue or a condition? Those are
 * legitimate waits, never ended early. */
static const char *legit_wait(const struct thread *t)
{
	int i, k;
	const struct mt_pyframe *f;

	if (!t || !t->py)
		return "none";
	for (i = k = 0; i < t->py->nframes && k < 4; i++) {
		f = &t->py->f[i];
		if (strcmp(base(f->file), "mtest_locks.py") == 0)
			continue;	/* the ledger's wrapper is not the wait */
		k++;
		if (strcmp(base(f->file), "threading.py") == 0 &&
		    (strcmp(f->func, "_wait_for_tstate_lock") == 0 || strcmp(f->func, "join") == 0))
			return "join";
		if (strcmp(base(f->file), "queue.py") == 0)
			return "queue";
		if (strcmp(base(f->file), "threading.py") == 0 && strcmp(f->func, "wait") == 0)
			return "condition";
	}
	return "none";
}

static int is_runner(const char *file)
{
	return strstr(file, "/_pytest/") || strstr(file, "/pluggy/");
}

/* For a Python read from outside by no one: the worker's own faulthandler,
 * asked by a signal while it still runs, writes every thread's traceback
 * into the file the plugin opened for appending. Waits until the file stops
 * growing (bounded); returns its length in out, 0 if nothing came. */
static size_t ask_tracebacks(const struct mt_capture_req *r, char *out, size_t cap)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	off_t last = -1;
	struct stat st;
	ssize_t n;
	int fd, quiet = 0, k;

	if (truncate(r->pytb_path, 0) < 0 || !mt_proc_is(r->pid, r->start) ||
	    kill(r->pid, r->pytb_sig) < 0)
		return 0;
	/* Up to 1 s in all; done after 50 ms without growth. */
	for (k = 0; k < 100 && quiet < 5; k++) {
		nanosleep(&tick, NULL);
		if (stat(r->pytb_path, &st) < 0)
			return 0;
		quiet = st.st_size > 0 && st.st_size == last ? quiet + 1 : 0;
		last = st.st_size;
	}
	if ((fd = open(r->pytb_path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = mt_read_full(fd, out, cap - 1);
	close(fd);
	if (n <= 0)
		return 0;
	out[n] = '\0';
	return (size_t)n;
}

static void write_thread(struct mt_buf *o, const struct thread *t, pid_t pid, pid_t crash_tid)
{
	int i;

	mt_buf_printf(o, "\nThread %d \"%s\"%s%s", (int)t->tid, t->name,
		      t->tid == pid ? " (the test thread)" : "",
		      t->tid == crash_tid ? " (crashed here)" : "");
	if (t->d) {
		mt_buf_printf(o, ": %s", mt_wait_name(t->d->wait));
		if (t->d->wait == MT_WAIT_LOCK || t->d->wait == MT_WAIT_LOCK_SHARED)
			mt_buf_printf(o, " (futex 0x%lx%s)", t->d->addr,
				      t->d->stalled ? ", stalled" : "");
		mt_buf_printf(o, ", %d%% CPU", t->d->cpu_pct);
	}
	mt_buf_putc(o, '\n');
	mt_wf_thread_lines(o, &wfc, t->tid);
	if (t->py) {
		mt_buf_puts(o, "  Python (most recent call first):\n");
		for (i = 0; i < t->py->nframes; i++) {
			/* Below the first frame of pytest's runner it is pytest
			 * all the way down: say so instead of showing it. */
			if (i > 0 && is_runner(t->py->f[i].file)) {
				mt_buf_printf(o, "    ... %d frames of pytest's runner\n",
					      t->py->nframes - i);
				break;
			}
			mt_buf_printf(o, "    File \"%s\", line %d, in %s\n", t->py->f[i].file,
				      t->py->f[i].line, t->py->f[i].func);
		}
		if (t->py->truncated)
			mt_buf_printf(o, "    ... (MT_FRAMES_MAX=%d)\n", MT_FRAMES_MAX);
	}
	if (!t->seized)
		mt_buf_puts(o, "  Native: not stopped (the thread exited, or ptrace was refused)\n");
	else if (t->nn)
		mt_buf_puts(o, "  Native:\n");
	for (i = 0; i < t->nn; i++) {
		const struct mt_nframe *f = &t->n[i];

		mt_buf_printf(o, "    #%-2d 0x%016llx %s+0x%llx (%s)", i, (unsigned long long)f->pc,
			      f->sym[0] ? f->sym : "??", (unsigned long long)f->off,
			      f->module[0] ? f->module : "?");
		if (f->src[0])
			mt_buf_printf(o, " at %s:%d", f->src, f->line);
		mt_buf_putc(o, '\n');
	}
}

/* The worker's lock ledger, read whole while its threads stand still. */
static void read_ledger(const struct mt_capture_req *r)
{
	struct stat st;
	ssize_t n;

	have_lg = 0;
	if (r->ledger_fd < 0) {
		snprintf(lgerr, sizeof lgerr, "%s", r->ledger_off && *r->ledger_off ?
			 r->ledger_off : "none");
		return;
	}
	if (fstat(r->ledger_fd, &st) < 0 || st.st_size <= 0 || st.st_size > MT_LEDGER_READ_MAX ||
	    !(lgbytes = malloc((size_t)st.st_size))) {
		snprintf(lgerr, sizeof lgerr, "unreadable (%lld bytes%s)", (long long)st.st_size,
			 st.st_size > MT_LEDGER_READ_MAX ? ", over MT_LEDGER_READ_MAX" : "");
		return;
	}
	n = pread(r->ledger_fd, lgbytes, (size_t)st.st_size, 0);
	if (n > 0 && mt_ledger_open(&lg, lgbytes, (size_t)n, lgerr, sizeof lgerr))
		have_lg = 1;
	else if (n <= 0)
		snprintf(lgerr, sizeof lgerr, "unreadable: %s", n < 0 ? strerror(errno) : "empty");
}

/* CPython keeps an RLock's owner: for each thread in a lock wait, the
 * RLock its innermost frame waits for, if it can be told (3.11, 3.13). */
static void read_rlocks(const struct mt_capture_req *r)
{
	int i, j;

	for (j = 0; r->rlock_type && r->diag && j < npy; j++)
		for (i = 0; i < r->diag->n; i++)
			if ((unsigned long)r->diag->t[i].tid == py[j].native_id &&
			    r->diag->t[i].wait == MT_WAIT_LOCK)
				has_prl[j] = (unsigned char)mt_py_rlock(r->pid, r->runtime, r->hexversion,
									py[j].frame, r->rlock_type,
									r->diag->t[i].addr, py[j].ident,
									&prl[j]);
}

/* An edge from CPython's RLock: its owner is a thread's ident; none alive
 * with it means that the owner exited. */
static void add_rlock_edge(const struct thread *t)
{
	const struct mt_pyrlock *rl = &prl[t->py - py];
	struct mt_wfedge e = { 0 };
	int j;

	e.waiter = t->tid;
	e.lock.kind = MT_LK_RLOCK;
	e.lock.addr = rl->addr;
	e.holder_gone = 1;
	for (j = 0; j < npy; j++)
		if (py[j].ident == rl->owner) {
			e.lock.holder = (pid_t)py[j].native_id;
			e.holder_gone = 0;
		}
	mt_wf_add(wfg, &e);
}

/* The wait-for graph: the ledger's waits, then what CPython's own RLocks
 * say of the waits the ledger does not know; followed from the test
 * thread. */
static void build_graph(const struct mt_capture_req *r)
{
	int i;

	for (i = 0; i < nth; i++) {
		views[i].tid = th[i].tid;
		views[i].name = th[i].name;
		views[i].py = th[i].py;
		views[i].d = th[i].d;
		th[i].v = &views[i];
		wft[i].tid = th[i].tid;
		wft[i].wait = th[i].d ? th[i].d->wait : MT_WAIT_OTHER;
		wft[i].stalled = th[i].d && th[i].d->stalled;
		wft[i].addr = th[i].d ? th[i].d->addr : 0;
	}
	if (have_lg)
		mt_wf_from_ledger(wfg, &lg, wft, nth);
	for (i = 0; i < nth; i++)
		if (th[i].py && has_prl[th[i].py - py])
			add_rlock_edge(&th[i]);
	mt_wf_analyse(wfg, wft, nth, r->pid);
	wfc.g = wfg;
	wfc.lg = have_lg ? &lg : NULL;
	wfc.v = views;
	wfc.n = nth;
	wfc.names = r->names;
	wfc.pid = r->pid;
	wfc.now_ns = mt_now_us() * 1000;
}

int mt_capture_run(const struct mt_capture_req *r)
{
	static char bytes[MT_OUTBUF], pytb[MT_PYTB_MAX];
	size_t npytb = 0;
	static char tmp[MT_PATH_MAX + 8];
	char err[256] = "", pyerr[256] = "", uwerr[256] = "";
	struct mt_buf o;
	struct thread *main_t = NULL;
	int64_t t0, t_stopped, t_detached, t_end, t_sym;
	int i, j, k, fd, partial = 0, unwinding;

	parked_locks = (r->hexversion >> 16) >= 0x030d;
	unsetenv("DEBUGINFOD_URLS");	/* never the network */
	nth = npy = 0;
	th = calloc(MT_THREADS_MAX, sizeof *th);
	py = calloc(MT_THREADS_MAX, sizeof *py);
	wfg = calloc(1, sizeof *wfg);
	views = calloc(MT_THREADS_MAX, sizeof *views);
	wft = calloc(MT_THREADS_MAX, sizeof *wft);
	prl = calloc(MT_THREADS_MAX, sizeof *prl);
	has_prl = calloc(MT_THREADS_MAX, 1);
	if (!th || !py || !wfg || !views || !wft || !prl || !has_prl)
		return 2;
	t0 = mt_now_us();
	unwinding = mt_unwind_begin(r->pid, uwerr, sizeof uwerr);
	/* Before the stop: faulthandler runs in the worker. A crashed worker
	 * is stopped already, and pytest's faulthandler has spoken. */
	if (!r->crash_sig && r->pytb_sig && r->pytb_path &&
	    (!r->interp || !mt_py_supported(r->hexversion)))
		npytb = ask_tracebacks(r, pytb, sizeof pytb);
	t_stopped = mt_now_us();
	if (!stop_all(r->pid, r->start, err, sizeof err))
		partial = 1;
	/* While every thread stands still: Python frames, native frames. */
	if (r->interp)
		npy = mt_py_read(r->pid, r->interp, r->runtime, r->hexversion, py, MT_THREADS_MAX,
				 pyerr, sizeof pyerr);
	else
		snprintf(pyerr, sizeof pyerr, "the plugin did not say where the interpreter is");
	read_ledger(r);
	read_rlocks(r);
	if (unwinding && !mt_unwind_attach(r->pid, uwerr, sizeof uwerr))
		unwinding = 0;
	for (i = 0; unwinding && i < nth; i++)
		if (th[i].stopped)
			th[i].nn = mt_unwind_pcs(th[i].tid, th[i].n, MT_FRAMES_MAX);
	detach_all();
	t_detached = mt_now_us();
	/* The worker runs again; now the slow part. */
	t_sym = mt_now_us();
	for (i = 0; i < nth; i++) {
		const char *name = r->names ? mt_names_get(r->names, th[i].tid, r->pid) : NULL;

		if (name)
			snprintf(th[i].name, sizeof th[i].name, "%s", name);
		else
			snprintf(th[i].name, sizeof th[i].name, "thread %d", (int)th[i].tid);
		for (j = 0; j < th[i].nn; j++)
			mt_unwind_symbol(&th[i].n[j]);
		for (j = 0; j < npy; j++)
			if (py[j].native_id == (unsigned long)th[i].tid)
				th[i].py = &py[j];
		for (j = 0; r->diag && j < r->diag->n; j++)
			if (r->diag->t[j].tid == th[i].tid)
				th[i].d = &r->diag->t[j];
		if (th[i].tid == r->pid)
			main_t = &th[i];
		if (!th[i].seized)
			partial = 1;
	}
	t_sym = mt_now_us() - t_sym;
	mt_unwind_end();
	build_graph(r);

	snprintf(tmp, sizeof tmp, "%s.tmp", r->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return 2;
	mt_buf_init(&o, bytes, sizeof bytes, fd);
	headline(&o, r, main_t);
	mt_buf_printf(&o, "\n# main-wait: %s\n", legit_wait(main_t));
	mt_buf_printf(&o, "# wait-for: %s%s\n", mt_wf_end_name(wfg->end),
		      mt_wf_certain(wfg->end) ? " (certain)" : "");
	if (have_lg)
		mt_buf_puts(&o, "# lock ledger: read\n");
	else
		mt_buf_printf(&o, "# lock ledger: %s\n", lgerr);
	mt_buf_printf(&o, "# capture: %d threads, worker stopped ", nth);
	mt_buf_secs(&o, t_detached - t_stopped, 4);
	mt_buf_puts(&o, " s, whole capture ");
	t_end = mt_now_us();
	mt_buf_secs(&o, t_end - t0, 4);
	mt_buf_printf(&o, " s (set-up %.1f ms, symbols %.1f ms), unwinder %s\n",
		      (double)(t_stopped - t0) / 1000, (double)t_sym / 1000, mt_unwind_backend());
	if (r->diag && r->diag->n)
		mt_buf_printf(&o, "# between the last two samples, %.1f s apart: %s, %s\n",
			      (double)r->diag->interval_us / 1e6,
			      r->diag->progress ? "progress" : "no progress",
			      r->diag->io_moved ? "data moved in the worker or below it" :
			      "no data moved");
	if (err[0])
		mt_buf_printf(&o, "# %s\n", err);
	if (pyerr[0])
		mt_buf_printf(&o, "# Python stacks: %s%s\n", pyerr,
			      npytb ? "; the worker's faulthandler gave its tracebacks, below" : "");
	if (uwerr[0])
		mt_buf_printf(&o, "# native stacks: %s\n", uwerr);
	mt_wf_section(&o, &wfc, have_lg ? "the lock ledger" : "CPython's RLock owners; no lock "
		      "ledger");
	if (npytb) {
		mt_buf_puts(&o, "\nPython, from the worker's faulthandler (all threads, most recent "
			    "call first):\n");
		mt_buf_puts(&o, pytb);
	}
	/* The test thread, the threads of its wait-for chain, who waits for
	 * its lock, other stalled threads, then the rest. */
	for (j = 0, k = 0; j < 6; j++)
		for (i = 0; i < nth; i++) {
			if (j == 0 ? &th[i] != main_t :
			    j == 1 ? &th[i] == main_t || role_of(&th[i], main_t) != ROLE_TOLD :
			    &th[i] == main_t || (int)role_of(&th[i], main_t) != j - 2)
				continue;
			/* A bundle is for reading: MT_CAPTURE_MAX bytes of it. */
			if (o.flushed + o.len > MT_CAPTURE_MAX) {
				k++;
				continue;
			}
			write_thread(&o, &th[i], r->pid, r->crash_tid);
		}
	if (k)
		mt_buf_printf(&o, "\n... %d more threads (MT_CAPTURE_MAX=%u bytes)\n", k,
			      MT_CAPTURE_MAX);
	for (i = 0; r->sample && i < r->sample->np; i++)
		capture_child(&o, &r->sample->p[i]);
	if (r->sample && r->sample->pmore)
		mt_buf_printf(&o, "\n... more processes (MT_CHILDREN_MAX=%d)\n", MT_CHILDREN_MAX);
	mt_buf_flush(&o);
	if (close(fd) < 0 || rename(tmp, r->path) < 0)
		return 2;
	return partial;
}

pid_t mt_capture_start(const struct mt_capture_req *r)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* The helper: it never returns into the supervisor. */
		_exit(mt_capture_run(r));
	}
	return pid;
}

int mt_capture_result(const char *path, char *headline_out, size_t cap, int *legit,
		      int *certain)
{
	char text[4096], *nl, *mark;
	ssize_t n = mt_read_file(path, text, sizeof text);

	*legit = 0;
	*certain = 0;
	headline_out[0] = '\0';
	if (n <= 0)
		return 0;
	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	snprintf(headline_out, cap, "%s", text);
	if (nl && (mark = strstr(nl + 1, "# main-wait: ")) != NULL)
		*legit = strncmp(mark + 13, "join", 4) == 0 ? MT_LEGIT_JOIN :
			 strncmp(mark + 13, "queue", 5) == 0 ? MT_LEGIT_QUEUE :
			 strncmp(mark + 13, "condition", 9) == 0 ? MT_LEGIT_CONDITION : 0;
	if (nl && (mark = strstr(nl + 1, "# wait-for: ")) != NULL) {
		char *eol = strchr(mark += 12, '\n');

		*certain = eol && eol - mark >= 10 && memcmp(eol - 10, " (certain)", 10) == 0;
		/* A holder that may yet release: the wait runs to its timeout. */
		if (!*legit && (strncmp(mark, "holder active", 13) == 0 ||
				strncmp(mark, "holder blocked", 14) == 0 ||
				strncmp(mark, "a lock used as a signal", 23) == 0 ||
				strncmp(mark, "a timed wait", 12) == 0))
			*legit = MT_LEGIT_HOLDER_ACTIVE;
	}
	return 1;
}
