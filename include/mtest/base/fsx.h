/* mtest: file and descriptor helpers. Return 1 on success, 0 on failure
 * with errno set, unless said otherwise. */
#ifndef MTEST_FSX_H
#define MTEST_FSX_H

#include <stddef.h>
#include <sys/types.h>

#include "mtest/base/buf.h"
#include "mtest/limits.h"

/* read() until n bytes, end of file or an error; returns bytes or -1. */
ssize_t mt_read_full(int fd, void *p, size_t n);
/* Read a whole small file into p (NUL-terminated); returns bytes or -1. */
ssize_t mt_read_file(const char *path, char *p, size_t cap);
/* A regular file below an open directory, for reading: never through a
 * link as the last step, never blocking (a FIFO is refused, EINVAL). */
int mt_open_file_at(int dirfd, const char *name);
/* mt_read_file of such a file. */
ssize_t mt_read_file_at(int dirfd, const char *name, char *p, size_t cap);
/* The last `max` bytes of a file (from its size), NUL-terminated; -1 on error. */
ssize_t mt_read_tail(int fd, char *p, size_t max);
int mt_mkdir_p(const char *path, mode_t mode);
/* Remove a directory tree; a missing path is success. */
int mt_rmtree(const char *path);
/* The same for `name` below an open directory. Symlinks are removed,
 * never followed. */
int mt_rmtree_at(int atfd, const char *name);
/* The running binary's path with `up` trailing components cut: 1 its
 * folder, 2 the prefix above it (PREFIX for PREFIX/bin/mtest). */
int mt_exe_dir(char *out, size_t cap, int up);
int mt_set_nonblock(int fd);
/* A run's lock on an open file: a POSIX record lock, the taking process's
 * own. A flock() would be shared by every child forked before its exec
 * (a worker joining its cgroup, a stack capture), and those outlive a
 * kill -9 of mtest by as long as they take. Returns 1 taken, 0 with errno
 * EWOULDBLOCK when another process holds it, 0 on an error. Never close
 * another descriptor of the same file in the taking process: that drops
 * the lock. */
int mt_lock_take(int fd);
/* Does another process hold the lock on this file? */
int mt_lock_held(int fd);
/* The pid of the process that holds it, as this process sees pids; 0 if
 * none does. */
pid_t mt_lock_holder(int fd);

/* Directory reading without the C library's heap (getdents64). */
struct mt_dir {
	int fd;
	long pos, len;
	char buf[8192] __attribute__((aligned(8)));
};
int mt_dir_open(struct mt_dir *d, int atfd, const char *path);
/* Next entry name, skipping "." and ".."; NULL at the end or on error
 * (errno is 0 at the end). `type` gets the d_type value. */
const char *mt_dir_next(struct mt_dir *d, unsigned char *type);
void mt_dir_close(struct mt_dir *d);

/* A file replaced atomically: written to "<path>.tmp", then fsync,
 * rename over <path> and fsync of the directory. With _at, path is below
 * the open directory dirfd (the state directory's, for its files). */
struct mt_atomic {
	int dirfd;
	char path[MT_PATH_MAX];
	char tmp[MT_PATH_MAX + 8];
	char bytes[MT_OUTBUF];
	struct mt_buf out;
};
int mt_atomic_open(struct mt_atomic *a, const char *path);
int mt_atomic_open_at(struct mt_atomic *a, int dirfd, const char *path);
/* Commit: 1 on success; on any error the old file stays and 0 is returned. */
int mt_atomic_commit(struct mt_atomic *a);
/* Drop the temp file; errno is kept for the caller's message. */
void mt_atomic_abort(struct mt_atomic *a);

#endif
