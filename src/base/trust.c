/* mtest: directories opened by a path that nobody else can change
 * (include/mtest/base/trust.h). */
#include "mtest/base/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtest/base/msg.h"
#include "mtest/limits.h"

#define LINKS_MAX 40	/* as the kernel's own resolution */
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct walk {
	char rest[2 * MT_PATH_MAX];	/* what is left to walk */
	char shown[MT_PATH_MAX];	/* the real path walked so far, for messages */
	char link[MT_PATH_MAX];
	int flags;
	uid_t me;
	char *why;
	size_t cap;
};

static int refuse(struct walk *w, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One line into why, errno e; returns 0. */
static int refuse(struct walk *w, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->why, w->cap, fmt, ap);
	va_end(ap);
	errno = e;
	return 0;
}

static const char *shown(const struct walk *w)
{
	return w->shown[0] ? w->shown : "/";
}

/* Root's or ours, and writable by nobody else (sticky is enough on the way). */
static int trusted(struct walk *w, int fd, int last)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return refuse(w, errno, "cannot look at %s: %s", shown(w), mt_strerror(errno));
	if (st.st_uid != w->me && (st.st_uid != 0 || (last && (w->flags & MT_TRUST_OWN))))
		return refuse(w, EPERM, last && (w->flags & MT_TRUST_OWN) ?
			      "%s belongs to uid %u, not to this user (uid %u)" :
			      "%s belongs to uid %u, neither root nor this user (uid %u)",
			      shown(w), (unsigned)st.st_uid, (unsigned)w->me);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (last || !(st.st_mode & S_ISVTX)))
		return refuse(w, EPERM, "%s is writable by others (mode %04o)", shown(w),
			      (unsigned)(st.st_mode & 07777));
	return 1;
}

/* A link on the way: followed if root or this user made it; its target
 * takes its place in what is left to walk. */
static int follow(struct walk *w, int *cur, const char *name, const char *after, int *links)
{
	char rest[sizeof w->rest];
	struct stat st;
	ssize_t n;

	if (fstatat(*cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return refuse(w, errno, "cannot look at %s/%s: %s", w->shown, name,
			      mt_strerror(errno));
	if (!S_ISLNK(st.st_mode))
		return refuse(w, ENOTDIR, "%s/%s is not a directory", w->shown, name);
	if (st.st_uid != w->me && st.st_uid != 0)
		return refuse(w, EPERM, "%s/%s is a symbolic link of uid %u, neither root nor "
			      "this user (uid %u)", w->shown, name, (unsigned)st.st_uid,
			      (unsigned)w->me);
	if (++*links > LINKS_MAX)
		return refuse(w, ELOOP, "%s/%s: too many symbolic links", w->shown, name);
	n = readlinkat(*cur, name, w->link, sizeof w->link - 1);
	if (n <= 0)
		return refuse(w, n < 0 ? errno : ENOENT, "cannot read the link %s/%s: %s",
			      w->shown, name, mt_strerror(n < 0 ? errno : ENOENT));
	w->link[n] = '\0';
	if (snprintf(rest, sizeof rest, "%s/%s", w->link, after) >= (int)sizeof rest)
		return refuse(w, ENAMETOOLONG, "%s/%s: path too long", w->shown, name);
	memcpy(w->rest, rest, sizeof rest);
	if (w->link[0] == '/') {
		int root = open("/", DIR_FLAGS);

		if (root < 0)
			return refuse(w, errno, "cannot open /: %s", mt_strerror(errno));
		close(*cur);
		*cur = root;
		w->shown[0] = '\0';
		return trusted(w, root, 0);
	}
	return 1;
}

/* One step down from cur into name: 1 done (*next set), 2 a link was
 * followed (walk on from w->rest), 0 refused. */
static int step(struct walk *w, int *cur, char *name, const char *after, int last,
		mode_t mode, int *links, int *next)
{
	size_t len = strlen(w->shown);

	*next = openat(*cur, name, DIR_FLAGS);
	if (*next < 0 && errno == ENOENT && (w->flags & MT_TRUST_CREATE)) {
		if (mkdirat(*cur, name, last ? mode : 0755) < 0 && errno != EEXIST)
			return refuse(w, errno, "cannot create %s/%s: %s", w->shown, name,
				      mt_strerror(errno));
		*next = openat(*cur, name, DIR_FLAGS);
	}
	if (*next < 0 && (errno == ELOOP || errno == ENOTDIR))
		return follow(w, cur, name, after, links) ? 2 : 0;
	if (*next < 0)
		return refuse(w, errno, "cannot open %s/%s: %s", w->shown, name,
			      mt_strerror(errno));
	if (strcmp(name, "..") == 0) {
		char *slash = strrchr(w->shown, '/');

		if (slash)
			*slash = '\0';
	} else if (snprintf(w->shown + len, sizeof w->shown - len, "/%s", name) >=
		   (int)(sizeof w->shown - len)) {
		close(*next);
		return refuse(w, ENAMETOOLONG, "%s: path too long", w->shown);
	}
	if (!trusted(w, *next, last)) {
		int e = errno;

		close(*next);
		errno = e;
		return 0;
	}
	return 1;
}

static int walk(struct walk *w, int cur, mode_t mode)
{
	char *p = w->rest, *name, *end, after[sizeof w->rest];
	int links = 0, next, r, last;

	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			return cur;
		name = p;
		end = strchr(p, '/');
		p = end ? end + 1 : p + strlen(p);
		if (end)
			*end = '\0';
		last = strspn(p, "/") == strlen(p);
		if (strcmp(name, ".") == 0)
			continue;
		snprintf(after, sizeof after, "%s", p);
		r = step(w, &cur, name, after, last, mode, &links, &next);
		if (r == 0)
			break;
		if (r == 2) {
			p = w->rest;
			continue;
		}
		close(cur);
		cur = next;
	}
	r = errno;
	close(cur);
	errno = r;
	return -1;
}

int mt_trust_open(const char *path, int flags, mode_t mode, char *why, size_t cap)
{
	static struct walk w;	/* 16 KiB: off the stack of the LED daemon's loop */
	char cwd[MT_PATH_MAX];
	int root;

	w.flags = flags;
	w.me = geteuid();
	w.why = why;
	w.cap = cap;
	w.shown[0] = '\0';
	why[0] = '\0';
	if (!*path)
		return refuse(&w, EINVAL, "an empty path") - 1;
	if (path[0] != '/' && !getcwd(cwd, sizeof cwd))
		return refuse(&w, errno, "cannot find the current directory: %s",
			      mt_strerror(errno)) - 1;
	if (snprintf(w.rest, sizeof w.rest, "%s/%s", path[0] == '/' ? "" : cwd, path) >=
	    (int)sizeof w.rest)
		return refuse(&w, ENAMETOOLONG, "%s: path too long", path) - 1;
	root = open("/", DIR_FLAGS);
	if (root < 0)
		return refuse(&w, errno, "cannot open /: %s", mt_strerror(errno)) - 1;
	if (!trusted(&w, root, strspn(w.rest, "/") == strlen(w.rest))) {
		int e = errno;

		close(root);
		errno = e;
		return -1;
	}
	return walk(&w, root, mode);
}
