/* mtest: file and descriptor helpers. */
#include "mtest/base/fsx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

ssize_t mt_read_full(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, c + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* A whole small file from an open fd (closed here), NUL-terminated. */
static ssize_t read_closing(int fd, char *p, size_t cap)
{
	ssize_t n;
	int e;

	if (fd < 0)
		return -1;
	n = mt_read_full(fd, p, cap - 1);
	e = errno;
	close(fd);
	errno = e;
	if (n < 0)
		return -1;
	p[n] = '\0';
	return n;
}

ssize_t mt_read_file(const char *path, char *p, size_t cap)
{
	/* Never blocks in open(): a FIFO put where a file was gives EOF. */
	return read_closing(open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), p, cap);
}

int mt_open_file_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	return fd;
}

ssize_t mt_read_file_at(int dirfd, const char *name, char *p, size_t cap)
{
	return read_closing(mt_open_file_at(dirfd, name), p, cap);
}

ssize_t mt_read_tail(int fd, char *p, size_t max)
{
	struct stat st;
	off_t from;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -1;
	from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	n = pread(fd, p, (size_t)(st.st_size - from), from);
	if (n < 0)
		return -1;
	p[n] = '\0';
	return n;
}

int mt_mkdir_p(const char *path, mode_t mode)
{
	char tmp[MT_PATH_MAX];
	size_t n = strlen(path), i;

	if (n == 0 || n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return 0;
	}
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return 0;
		tmp[i] = path[i];
	}
	return 1;
}

int mt_dir_open(struct mt_dir *d, int atfd, const char *path)
{
	/* Never through a symlink as the last step: a tree being removed
	 * may have had a directory swapped for a link to elsewhere. */
	d->fd = openat(atfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d->pos = d->len = 0;
	return d->fd >= 0;
}

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

const char *mt_dir_next(struct mt_dir *d, unsigned char *type)
{
	struct linux_dirent64 *e;
	long n;

	for (;;) {
		if (d->pos >= d->len) {
			n = syscall(SYS_getdents64, d->fd, d->buf, sizeof d->buf);
			if (n <= 0) {
				if (n == 0)
					errno = 0;
				return NULL;
			}
			d->len = n;
			d->pos = 0;
		}
		e = (struct linux_dirent64 *)(void *)(d->buf + d->pos);	/* aligned: see fsx.h */
		d->pos += e->d_reclen;
		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' ||
		    (e->d_name[1] == '.' && e->d_name[2] == '\0')))
			continue;
		if (type)
			*type = e->d_type;
		return e->d_name;
	}
}

void mt_dir_close(struct mt_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* Depth-first removal below an open directory; depth is bounded by the
 * path limit, and each level holds one getdents buffer on the stack. */
static int rmtree_at(int atfd, const char *name, int depth)
{
	struct mt_dir d;
	const char *e;
	unsigned char type;
	int ok = 1;

	if (depth > 32) {
		errno = ELOOP;
		return 0;
	}
	if (unlinkat(atfd, name, 0) == 0)
		return 1;
	if (errno == ENOENT)
		return 1;
	if (errno != EISDIR && errno != EPERM)
		return 0;
	if (!mt_dir_open(&d, atfd, name))
		return errno == ENOENT;	/* ELOOP: a link now, not followed */
	while ((e = mt_dir_next(&d, &type)))
		if (!rmtree_at(d.fd, e, depth + 1))
			ok = 0;
	mt_dir_close(&d);
	if (unlinkat(atfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		ok = 0;
	return ok;
}

int mt_rmtree(const char *path)
{
	return rmtree_at(AT_FDCWD, path, 0);
}

int mt_rmtree_at(int atfd, const char *name)
{
	return rmtree_at(atfd, name, 0);
}

int mt_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

int mt_atomic_open_at(struct mt_atomic *a, int dirfd, const char *path)
{
	int fd;

	a->dirfd = dirfd;
	if (snprintf(a->path, sizeof a->path, "%s", path) >= (int)sizeof a->path ||
	    snprintf(a->tmp, sizeof a->tmp, "%s.tmp", path) >= (int)sizeof a->tmp) {
		errno = ENAMETOOLONG;
		return 0;
	}
	/* A planted link at the temp name is replaced, never followed. */
	if (unlinkat(dirfd, a->tmp, 0) < 0 && errno != ENOENT)
		return 0;
	fd = openat(dirfd, a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return 0;
	mt_buf_init(&a->out, a->bytes, sizeof a->bytes, fd);
	return 1;
}

int mt_atomic_open(struct mt_atomic *a, const char *path)
{
	return mt_atomic_open_at(a, AT_FDCWD, path);
}

/* fsync of the directory holding `path` (below dirfd). */
static int sync_parent(int dirfd, const char *path)
{
	char dir[MT_PATH_MAX];
	char *slash;
	int fd, r, e;

	memcpy(dir, path, sizeof dir);
	slash = strrchr(dir, '/');
	if (!slash && dirfd != AT_FDCWD)
		return fsync(dirfd) == 0;
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return r == 0;
}

int mt_atomic_commit(struct mt_atomic *a)
{
	int ok, e;

	ok = mt_buf_flush(&a->out) && fsync(a->out.fd) == 0;
	e = errno;
	if (close(a->out.fd) < 0 && ok) {
		ok = 0;
		e = errno;
	}
	a->out.fd = -1;
	if (ok && renameat(a->dirfd, a->tmp, a->dirfd, a->path) < 0) {
		ok = 0;
		e = errno;
	}
	if (!ok) {
		unlinkat(a->dirfd, a->tmp, 0);
		errno = e;
		return 0;
	}
	return sync_parent(a->dirfd, a->path);
}

void mt_atomic_abort(struct mt_atomic *a)
{
	int e = errno;	/* the caller reports the error that made it abort */

	if (a->out.fd >= 0)
		close(a->out.fd);
	a->out.fd = -1;
	unlinkat(a->dirfd, a->tmp, 0);
	errno = e;
}

int mt_exe_dir(char *out, size_t cap, int up)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);
	char *slash;

	if (n <= 0)
		return 0;
	out[n] = '\0';
	while (up-- > 0) {
		if (!(slash = strrchr(out, '/')))
			return 0;
		*slash = '\0';
	}
	return 1;
}

static struct flock whole(short type)
{
	struct flock l;

	memset(&l, 0, sizeof l);
	l.l_type = type;
	l.l_whence = SEEK_SET;	/* from 0, length 0: the whole file */
	return l;
}

int mt_lock_take(int fd)
{
	struct flock l = whole(F_WRLCK);

	if (fcntl(fd, F_SETLK, &l) == 0)
		return 1;
	if (errno == EACCES || errno == EAGAIN)
		errno = EWOULDBLOCK;
	return 0;
}

int mt_lock_held(int fd)
{
	return mt_lock_holder(fd) != 0;
}

pid_t mt_lock_holder(int fd)
{
	struct flock l = whole(F_RDLCK);

	if (fcntl(fd, F_GETLK, &l) < 0 || l.l_type == F_UNLCK)
		return 0;
	return l.l_pid > 0 ? l.l_pid : -1;	/* -1: held, from another pid namespace */
}
