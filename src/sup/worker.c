/* mtest: worker processes. */
#include "mtest/sup/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtest/base/cgroup.h"
#include "mtest/base/fsx.h"
#include "mtest/base/procfs.h"

void mt_worker_reset(struct mt_worker *w, int num)
{
	w->num = num;
	w->pid = -1;
	w->state = MT_W_NONE;
	w->ev_fd = w->ctl_fd = w->con_fd = -1;
	w->cap_fd[0] = w->cap_fd[1] = -1;
	w->token[0] = '\0';
	w->spawned_us = 0;
	w->status = 0;
	w->killing = 0;
	w->retiring = 0;
	w->kill_reason[0] = '\0';
	w->stopped = 0;
	w->reaped = 0;
	w->kill_sent = 0;
	w->kill_at_us = 0;
	w->line_len = 0;
	w->line_dropping = 0;
	w->in_frame = w->in_junk = 0;
	w->bad_lines = w->bad_shown = 0;
	w->sample_len = 0;
	w->sample[0] = '\0';
	w->next_seq = 1;
	w->lost_lines = w->rejected = 0;
	w->ev_err = 0;
	w->ctl_broken = 0;
	w->ctl_len = 0;
	mt_ring_reset(&w->console);
	w->nitems = w->qlen = w->qsent = w->qdone = w->lost_items = 0;
	w->ended = 0;
	w->forked = 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(int ev, int ctl, int con, int null, int zyg, int cg, pid_t parent,
		       char *const argv[], char *const envp[], const char *token)
{
	sigset_t none;
	int sig, hi[5], targets[5] = { MT_WORKER_EVENT_FD, MT_WORKER_CONTROL_FD, 1, 0,
				       MT_WORKER_ZYGOTE_FD };
	int src[5] = { ev, ctl, con, null, zyg }, i, nfd = zyg >= 0 ? 5 : 4;
	char msg[160];
	int n, fd;

	/* Into its lane's cgroup before it runs anything, if it was not born
	 * there: all it starts is born there. (mtest checks, and moves it
	 * itself if this failed.) */
	if (cg >= 0 && write(cg, "0", 1) < 0) {
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	setpgid(0, 0);
	/* No controlling terminal: a test cannot write to mtest's terminal
	 * past its capture (on a LAVA console: forged signals) nor read it. */
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		(void)ioctl(fd, TIOCNOTTY);
		close(fd);
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	/* Lift the sources above the targets first, so that no dup2 can
	 * clobber a source that still has to move. */
	for (i = 0; i < nfd; i++) {
		hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10);
		if (hi[i] < 0)
			_exit(127);
	}
	for (i = 0; i < nfd; i++)
		if (dup2(hi[i], targets[i]) < 0)
			_exit(127);
	if (dup2(1, 2) < 0)
		_exit(127);
	execve(argv[0], argv, envp);
	n = snprintf(msg, sizeof msg, "\x1e{\"t\":\"execfail\",\"k\":\"%s\",\"errno\":%d}\n",
		     token, errno);
	if (n > 0 && write(MT_WORKER_EVENT_FD, msg, (size_t)n) < 0) {
	}
	_exit(127);
}

/* A worker's three pipes: events and console (it writes), control (it
 * reads). Only mtest's ends are non-blocking: each end of a pipe is its
 * own open file, and the plugin writes to a blocking one. */
struct pipes {
	int ev[2], ctl[2], con[2];
};

static void pipes_close(struct pipes *p)
{
	int e = errno;

	close_fd(&p->ev[0]);
	close_fd(&p->ev[1]);
	close_fd(&p->ctl[0]);
	close_fd(&p->ctl[1]);
	close_fd(&p->con[0]);
	close_fd(&p->con[1]);
	errno = e;
}

static int pipes_open(struct pipes *p)
{
	*p = (struct pipes){ { -1, -1 }, { -1, -1 }, { -1, -1 } };
	if (pipe2(p->ev, O_CLOEXEC) < 0 || pipe2(p->ctl, O_CLOEXEC) < 0 ||
	    pipe2(p->con, O_CLOEXEC) < 0 || !mt_set_nonblock(p->ev[0]) ||
	    !mt_set_nonblock(p->ctl[1]) || !mt_set_nonblock(p->con[0])) {
		pipes_close(p);
		return 0;
	}
	return 1;
}

/* The worker has its ends: ours go into w, theirs are closed here. */
static void pipes_keep(struct pipes *p, struct mt_worker *w)
{
	close_fd(&p->ev[1]);
	close_fd(&p->ctl[0]);
	close_fd(&p->con[1]);
	w->ev_fd = p->ev[0];
	w->ctl_fd = p->ctl[1];
	w->con_fd = p->con[0];
}

int mt_worker_spawn(struct mt_worker *w, char *const argv[], char *const envp[], int zygote_fd,
		    const struct mt_cgroup *cg, int leaf)
{
	struct pipes p;
	pid_t parent = getpid(), pid;
	int null, born_in = 0, cgroup_fd;

	if (!pipes_open(&p))
		return 0;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid = null < 0 ? -1 : mt_cgroup_fork(cg, leaf, &born_in);
	cgroup_fd = born_in ? -1 : mt_cgroup_join_fd(cg, leaf);
	if (pid < 0) {
		pipes_close(&p);
		if (null >= 0)
			close_fd(&null);
		return 0;
	}
	if (pid == 0)
		child_exec(p.ev[1], p.ctl[0], p.con[1], null, zygote_fd, cgroup_fd, parent, argv, envp,
			   w->token);
	/* Both sides set the group, so that no signal can race the child's;
	 * here it fails (EACCES) only when the child has exec'd, its own done. */
	(void)setpgid(pid, pid);
	close(null);
	pipes_keep(&p, w);
	w->pid = pid;
	w->start = 0;
	{
		struct mt_proc st;

		/* Our child, not reaped: its pid is its own until we wait. */
		if (mt_proc_stat(pid, &st))
			w->start = st.start;
	}
	return 1;
}

/* The pipes of a worker the zygote forks: our ends kept, the others sent
 * with the request (SCM_RIGHTS) and closed here. */
int mt_worker_fork(struct mt_worker *w, int zsock, const char *request, size_t len,
		   int cgroup_fd)
{
	union {
		char bytes[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} anc;
	struct iovec iov = { (void *)request, len };
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	struct pipes p;
	int give[4], ngive = cgroup_fd >= 0 ? 4 : 3;
	ssize_t r;

	if (!pipes_open(&p))
		return 0;
	give[0] = p.ev[1];
	give[1] = p.ctl[0];
	give[2] = p.con[1];
	give[3] = cgroup_fd;	/* the lane's cgroup.procs, when there is one */
	memset(&anc, 0, sizeof anc);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = anc.bytes;
	m.msg_controllen = CMSG_SPACE((size_t)ngive * sizeof(int));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)ngive * sizeof(int));
	memcpy(CMSG_DATA(c), give, (size_t)ngive * sizeof(int));
	do
		r = sendmsg(zsock, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)len) {
		if (r >= 0)
			errno = EPIPE;	/* a datagram is whole or not at all */
		pipes_close(&p);
		return 0;
	}
	pipes_keep(&p, w);
	w->pid = -1;	/* the zygote tells it, and so does the worker */
	w->start = 0;
	w->forked = 1;
	return 1;
}

/* Bytes outside a frame that are not blank: one malformed line each run
 * of them (kept as a sample for the note that names it). */
static void junk(struct mt_worker *w, const char *p, size_t n)
{
	size_t i, k;

	for (i = 0; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'); i++)
		;
	if (i == n)
		return;
	if (!w->in_junk) {
		w->in_junk = 1;
		w->bad_lines++;
		w->sample_len = 0;
	}
	for (k = i; k < n && w->sample_len < sizeof w->sample - 1; k++)
		w->sample[w->sample_len++] = p[k];
	w->sample[w->sample_len] = '\0';
}

/* Frames are RS ... LF (docs/protocol.md): anything before an RS is junk
 * and is dropped as one malformed line, so that stray bytes a test writes
 * into the pipe never merge with the next event. */
static void deframe(struct mt_worker *w, const char *p, size_t n, mt_line_fn *fn, void *ctx)
{
	const char *end = p + n, *rs, *lf;

	while (p < end) {
		if (!w->in_frame) {
			rs = memchr(p, MT_FRAME_RS, (size_t)(end - p));
			lf = memchr(p, '\n', (size_t)((rs ? rs : end) - p));
			if (lf) {
				junk(w, p, (size_t)(lf - p));
				w->in_junk = 0;	/* a junk line ends at its newline */
				p = lf + 1;
				continue;
			}
			junk(w, p, (size_t)((rs ? rs : end) - p));
			if (!rs)
				return;
			w->in_junk = 0;
			w->in_frame = 1;
			w->line_len = 0;
			w->line_dropping = 0;
			p = rs + 1;
			continue;
		}
		rs = memchr(p, MT_FRAME_RS, (size_t)(end - p));
		lf = memchr(p, '\n', (size_t)((rs ? rs : end) - p));
		if (!lf && rs) {
			/* A new frame before this one ended: this one is lost. */
			w->bad_lines++;
			w->line_len = 0;
			w->line_dropping = 0;
			p = rs + 1;
			continue;
		}
		{
			const char *stop = lf ? lf : end;
			size_t len = (size_t)(stop - p);

			if (!w->line_dropping && len > sizeof w->line - w->line_len) {
				/* Longer than any line the plugin writes: drop it. */
				w->bad_lines++;
				w->line_dropping = 1;
			}
			if (!w->line_dropping) {
				memcpy(w->line + w->line_len, p, len);
				w->line_len += len;
			}
			p = stop;
		}
		if (lf) {
			if (!w->line_dropping && w->line_len)
				fn(ctx, w, w->line, w->line_len);
			w->in_frame = 0;
			w->line_len = 0;
			w->line_dropping = 0;
			p = lf + 1;
		}
	}
}

int mt_worker_read_events(struct mt_worker *w, mt_line_fn *fn, void *ctx)
{
	static char chunk[65536];
	ssize_t r;

	if (w->ev_fd < 0)
		return 0;
	for (;;) {
		r = read(w->ev_fd, chunk, sizeof chunk);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 1;	/* all read for now */
			w->ev_err = errno;	/* an error is an end too */
			close_fd(&w->ev_fd);
			return 0;
		}
		if (r == 0) {
			close_fd(&w->ev_fd);
			return 0;
		}
		deframe(w, chunk, (size_t)r, fn, ctx);
	}
}

int mt_worker_read_console(struct mt_worker *w, int logfd, uint64_t *logged)
{
	static char chunk[65536];
	ssize_t r;
	size_t keep;

	if (w->con_fd < 0)
		return 0;
	for (;;) {
		r = read(w->con_fd, chunk, sizeof chunk);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (r == 0) {
			close_fd(&w->con_fd);
			return 0;
		}
		mt_ring_push(&w->console, chunk, (size_t)r);
		if (logfd >= 0 && *logged < MT_CONSOLE_LOG_MAX) {
			keep = (size_t)r;
			if (keep > MT_CONSOLE_LOG_MAX - *logged)
				keep = (size_t)(MT_CONSOLE_LOG_MAX - *logged);
			/* The log is a convenience: a failed write only
			 * stops it, never the run. */
			if (mt_write_all(logfd, chunk, keep))
				*logged += keep;
			else
				*logged = MT_CONSOLE_LOG_MAX;
		}
	}
}

void mt_worker_flush(struct mt_worker *w)
{
	ssize_t r;

	while (w->ctl_len && w->ctl_fd >= 0) {
		r = write(w->ctl_fd, w->ctl, w->ctl_len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				w->ctl_len = 0;	/* EPIPE: its end is closed */
				w->ctl_broken = 1;
			}
			return;
		}
		memmove(w->ctl, w->ctl + r, w->ctl_len - (size_t)r);
		w->ctl_len -= (size_t)r;
	}
}

int mt_worker_send(struct mt_worker *w, const char *s, size_t n)
{
	if (n > sizeof w->ctl - w->ctl_len)
		return 0;
	memcpy(w->ctl + w->ctl_len, s, n);
	w->ctl_len += n;
	mt_worker_flush(w);
	return 1;
}

void mt_worker_signal(struct mt_worker *w, int sig)
{
	if (w->pid <= 0 || w->reaped || w->state == MT_W_DEAD || w->state == MT_W_NONE)
		return;
	/* The group may be gone while the leader lingers: signal both. */
	killpg(w->pid, sig);
	kill(w->pid, sig);
}

int mt_worker_open_capture(struct mt_worker *w, int which, int fd)
{
	char path[64];
	struct stat st;
	int c;

	if (which < 0 || which > 1 || fd < 0)
		return 1;
	close_fd(&w->cap_fd[which]);
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)w->pid, fd);
	/* Whatever the worker names, it is opened without waiting (a FIFO
	 * would block open() until a writer came) and kept only if it is a
	 * regular file, as pytest's capture files are. */
	c = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (c < 0)
		return 0;
	if (fstat(c, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(c);
		errno = EINVAL;
		return 0;
	}
	w->cap_fd[which] = c;
	return 1;
}

void mt_worker_close(struct mt_worker *w)
{
	close_fd(&w->ev_fd);
	close_fd(&w->ctl_fd);
	close_fd(&w->con_fd);
	close_fd(&w->cap_fd[0]);
	close_fd(&w->cap_fd[1]);
}
