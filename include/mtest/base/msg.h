/* mtest: one-line messages to stderr ("mtest: ..."). */
#ifndef MTEST_MSG_H
#define MTEST_MSG_H

/* "mtest: <text>\n" in one write. */
void mt_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "mtest: <text>: <strerror(errno)>\n"; errno is kept. */
void mt_msg_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The description of an errno value, without allocating. */
const char *mt_strerror(int e);
/* "SIGSEGV" for 11, "SIG42" for an unnamed one. */
const char *mt_signame(int sig, char *scratch, unsigned size);

#endif
