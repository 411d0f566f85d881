/* mtest: messages. Each is formatted into a stack buffer and written with
 * one write(), so that it never interleaves and never allocates. */
#include "mtest/base/msg.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/buf.h"

const char *mt_strerror(int e)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	const char *s = strerrordesc_np(e);	/* static, no locale lookup */

	return s ? s : "unknown error";
#else
	return strerror(e);
#endif
}

static void emit(int with_errno, const char *fmt, va_list ap)
{
	char line[1024];
	int e = errno;
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	struct mt_buf b;
	char out[1200];

	if (n < 0)
		return;
	mt_buf_init(&b, out, sizeof out, -1);
	mt_buf_puts(&b, "mtest: ");
	mt_buf_puts(&b, line);
	if (with_errno) {
		mt_buf_puts(&b, ": ");
		mt_buf_puts(&b, mt_strerror(e));
	}
	mt_buf_putc(&b, '\n');
	/* Nothing sensible is left to do if stderr itself is gone. */
	if (write(2, b.p, b.len) < 0) {
	}
	errno = e;
}

void mt_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(0, fmt, ap);
	va_end(ap);
}

void mt_msg_sys(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(1, fmt, ap);
	va_end(ap);
}

const char *mt_signame(int sig, char *scratch, unsigned size)
{
	static const struct { int sig; const char *name; } names[] = {
		{ SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
		{ SIGILL, "SIGILL" }, { SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
		{ SIGBUS, "SIGBUS" }, { SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" },
		{ SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
		{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
		{ SIGCHLD, "SIGCHLD" }, { SIGCONT, "SIGCONT" }, { SIGSTOP, "SIGSTOP" },
		{ SIGTSTP, "SIGTSTP" }, { SIGTTIN, "SIGTTIN" }, { SIGTTOU, "SIGTTOU" },
		{ SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" }, { SIGSYS, "SIGSYS" },
	};
	unsigned i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(scratch, size, "SIG%d", sig);
	return scratch;
}
