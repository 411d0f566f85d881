/* mtest_crash.so: preloaded into pytest workers (LD_PRELOAD). When the
 * worker gets a fatal signal, it tells mtest which thread crashed, on the
 * event pipe, and stops the whole process with SIGSTOP, so that mtest can
 * capture every thread's Python and native stack before the process dies.
 * mtest then sends SIGCONT, and the worker dies of its signal as it would
 * have. Python's faulthandler (which pytest enables) runs first and chains
 * to this handler.
 *
 * Only async-signal-safe calls in the handler; nothing happens in a
 * process that is not the worker itself (a fork of it, or a program it
 * runs, which inherit LD_PRELOAD but not the pipe's variable). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The event pipe: the plugin moves it to a high descriptor at its start
 * and sets this (ctypes) to follow it. */
int mtest_crash_event_fd = -1;
static pid_t worker_pid;
static char token[40];
static char altstack[65536];
static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

static size_t put_num(char *p, long v)
{
	char tmp[24];
	size_t n = 0, i;

	if (v < 0) {
		*p++ = '-';
		return 1 + put_num(p, -v);
	}
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static void on_fatal(int sig)
{
	char line[128];
	size_t n = 0;
	int e = errno;

	if (getpid() == worker_pid && mtest_crash_event_fd >= 0) {
		/* Framed (RS first): if another thread was in the middle of a
		 * long line, that line is lost, but this one is whole. It has
		 * no sequence number: it is not the plugin's. */
		memcpy(line + n, "\x1e{\"t\":\"fatal\",\"k\":\"", 19);
		n += 19;
		memcpy(line + n, token, strlen(token));
		n += strlen(token);
		memcpy(line + n, "\",\"sig\":", 8);
		n += 8;
		n += put_num(line + n, sig);
		memcpy(line + n, ",\"tid\":", 7);
		n += 7;
		n += put_num(line + n, (long)syscall(SYS_gettid));
		memcpy(line + n, "}\n", 2);
		n += 2;
		if (write(mtest_crash_event_fd, line, n) == (ssize_t)n)
			raise(SIGSTOP);	/* mtest captures, then SIGCONT */
	}
	/* Die of the signal, as without us: it is blocked while we run, so
	 * it strikes when this handler returns. */
	signal(sig, SIG_DFL);
	raise(sig);
	errno = e;
}

/* A worker forked from the zygote (the plugin calls this through ctypes):
 * it speaks for itself now, on its own pipe, with its own token. */
void mtest_crash_rearm(int event_fd, const char *tok);
void mtest_crash_rearm(int event_fd, const char *tok)
{
	size_t n = tok ? strlen(tok) : sizeof token;

	if (n >= sizeof token)
		return;
	memcpy(token, tok, n + 1);
	mtest_crash_event_fd = event_fd;
	worker_pid = getpid();
}

__attribute__((constructor)) static void mtest_crash_init(void)
{
	const char *fd = getenv("MTEST_EVENT_FD"), *tok = getenv("MTEST_TOKEN");
	struct sigaction sa;
	stack_t ss;
	unsigned i;

	if (!fd || !tok || strlen(tok) >= sizeof token)
		return;
	mtest_crash_event_fd = atoi(fd);
	worker_pid = getpid();
	memcpy(token, tok, strlen(tok) + 1);
	/* A stack overflow needs a stack to report on. */
	ss.ss_sp = altstack;
	ss.ss_size = sizeof altstack;
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
		sigaction(fatal[i], &sa, NULL);
}
