/* mtest led: the LED daemon's control channel (include/mtest/led/channel.h). */
#include "mtest/led/channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mtest/base/hash.h"
#include "mtest/base/msg.h"
#include "mtest/base/trust.h"

#define ROOT_RUNDIR "/run/mtest"
#define NAME_KEEP 40	/* bytes of a board's name kept in the socket's */

/* "led-<board><ext>": the name kept to [A-Za-z0-9._-] and NAME_KEEP bytes;
 * if it was changed, 8 hex digits of its hash follow, so that distinct
 * boards never share a socket. */
static void file_name(const struct mt_board *b, const char *ext, char *out, size_t cap)
{
	char keep[NAME_KEEP + 1];
	size_t n = strlen(b->name), k;
	int changed = n > NAME_KEEP;

	for (k = 0; k < n && k < NAME_KEEP; k++) {
		char c = b->name[k];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || (c == '.' && k > 0))) {
			c = '_';
			changed = 1;
		}
		keep[k] = c;
	}
	keep[k] = '\0';
	if (changed)
		snprintf(out, cap, "led-%s-%08x%s", keep,
			 (unsigned)(mt_hash64(b->name, n) & 0xffffffffu), ext);
	else
		snprintf(out, cap, "led-%s%s", keep, ext);
}

/* The runtime directory of this user's daemon; 0 if there is none. */
static int own_rundir(char *out, size_t cap)
{
	const char *env = getenv("MTEST_RUNTIME_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		return snprintf(out, cap, "%s", env) < (int)cap;
	if (geteuid() == 0)
		return snprintf(out, cap, "%s", ROOT_RUNDIR) < (int)cap;
	return xdg && *xdg && snprintf(out, cap, "%s/mtest", xdg) < (int)cap;
}

/* Where to look for a daemon: this user's runtime directory, and root's. */
static int rundirs(char dirs[2][MT_PATH_MAX])
{
	int n = own_rundir(dirs[0], MT_PATH_MAX);

	if (!getenv("MTEST_RUNTIME_DIR") && (!n || strcmp(dirs[0], ROOT_RUNDIR) != 0))
		snprintf(dirs[n++], MT_PATH_MAX, "%s", ROOT_RUNDIR);
	return n;
}

/* /proc/self/fd/<dirfd>/<name>: the held directory's entry, in a
 * sun_path (a long runtime directory would not fit). */
static socklen_t address(int dirfd, const char *name, struct sockaddr_un *a)
{
	int n;

	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path, sizeof a->sun_path, "/proc/self/fd/%d/%s", dirfd, name);
	if (n < 0 || n >= (int)sizeof a->sun_path)
		return 0;
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
}

/* A socket connected to the daemon in dirfd, or -1. Bound to an
 * abstract name of the kernel's choosing first, so that it can be
 * answered. */
static int dial(int dirfd, const char *name)
{
	struct sockaddr_un a;
	sa_family_t fam = AF_UNIX;
	socklen_t len = address(dirfd, name, &a);
	int fd;

	if (!len)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&fam, sizeof fam) < 0 ||
	    connect(fd, (struct sockaddr *)&a, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int mt_led_chan_find(const struct mt_board *b, int *sock, char *where, size_t wcap,
		     char *why, size_t cap)
{
	char dirs[2][MT_PATH_MAX], name[96], w[MT_PATH_MAX + 160];
	int n = rundirs(dirs), k, dirfd, fd;

	why[0] = '\0';
	if (sock)
		*sock = -1;
	file_name(b, ".sock", name, sizeof name);
	for (k = 0; k < n; k++) {
		dirfd = mt_trust_open(dirs[k], 0, 0, w, sizeof w);
		if (dirfd < 0) {
			/* Absent is no daemon; anything else is named. */
			if (errno != ENOENT && !why[0])
				snprintf(why, cap, "LED daemon's runtime directory %s: %s: not used",
					 dirs[k], w);
			continue;
		}
		fd = dial(dirfd, name);
		close(dirfd);
		if (fd < 0)
			continue;
		snprintf(where, wcap, "%s/%s", dirs[k], name);
		if (sock)
			*sock = fd;
		else
			close(fd);
		return 1;
	}
	return 0;
}

int mt_led_chan_ask(int sock, const char *msg, char *reply, size_t cap, int wait_ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	size_t len = strlen(msg);
	ssize_t n;
	int r;

	/* A full queue (a flood) is an error, never a wait. */
	if (send(sock, msg, len, MSG_DONTWAIT) != (ssize_t)len)
		return 0;
	do
		r = poll(&p, 1, wait_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		if (r == 0)
			errno = ETIMEDOUT;
		return 0;
	}
	n = recv(sock, reply, cap - 1, MSG_DONTWAIT);
	if (n < 0)
		return 0;
	reply[n] = '\0';
	return 1;
}

int mt_led_chan_claim(struct mt_led_chan *c, const struct mt_board *b, char *why, size_t cap)
{
	char w[MT_PATH_MAX + 160], lockname[96];
	struct sockaddr_un a;
	socklen_t len;
	int on = 1;

	c->sock = c->dirfd = c->lock = -1;
	if (!own_rundir(c->dir, sizeof c->dir)) {
		snprintf(why, cap, "no runtime directory for the LED daemon's socket (root's is "
			 ROOT_RUNDIR "; set XDG_RUNTIME_DIR or MTEST_RUNTIME_DIR)");
		return -1;
	}
	c->dirfd = mt_trust_open(c->dir, MT_TRUST_CREATE | MT_TRUST_OWN, 0755, w, sizeof w);
	if (c->dirfd < 0) {
		snprintf(why, cap, "runtime directory %s: %s: refusing it", c->dir, w);
		return -1;
	}
	file_name(b, ".sock", c->name, sizeof c->name);
	file_name(b, ".lock", lockname, sizeof lockname);
	c->lock = openat(c->dirfd, lockname, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			 0600);
	if (c->lock < 0 || flock(c->lock, LOCK_EX | LOCK_NB) < 0) {
		int busy = c->lock >= 0 && errno == EWOULDBLOCK;

		snprintf(why, cap, "cannot lock %s/%s: %s", c->dir, lockname, mt_strerror(errno));
		mt_led_chan_close(c);
		return busy ? 0 : -1;
	}
	/* Ours alone now: a name left by a daemon that died goes. */
	if (unlinkat(c->dirfd, c->name, 0) < 0 && errno != ENOENT) {
		snprintf(why, cap, "cannot remove %s/%s: %s", c->dir, c->name, mt_strerror(errno));
		mt_led_chan_close(c);
		return -1;
	}
	len = address(c->dirfd, c->name, &a);
	c->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (!len || c->sock < 0 || bind(c->sock, (struct sockaddr *)&a, len) < 0 ||
	    fchmodat(c->dirfd, c->name, 0666, 0) < 0 ||
	    setsockopt(c->sock, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0) {
		snprintf(why, cap, "cannot make the socket %s/%s: %s", c->dir, c->name,
			 mt_strerror(errno));
		mt_led_chan_close(c);
		return -1;
	}
	return 1;
}

ssize_t mt_led_chan_recv(struct mt_led_chan *c, char *msg, size_t cap, struct mt_led_peer *p)
{
	union {
		struct cmsghdr h;
		char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { msg, cap - 1 };
	struct msghdr mh = { .msg_name = &p->addr, .msg_namelen = sizeof p->addr, .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = ctl.bytes,
			     .msg_controllen = sizeof ctl.bytes };
	struct cmsghdr *h;
	struct ucred uc;
	ssize_t n;

	n = recvmsg(c->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -1;
	msg[n] = '\0';
	p->uid = (uid_t)-1;
	p->pid = 0;
	for (h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
		if (h->cmsg_level != SOL_SOCKET)
			continue;
		if (h->cmsg_type == SCM_CREDENTIALS && h->cmsg_len >= CMSG_LEN(sizeof uc)) {
			memcpy(&uc, CMSG_DATA(h), sizeof uc);
			p->uid = uc.uid;
			p->pid = uc.pid;
		} else if (h->cmsg_type == SCM_RIGHTS) {
			/* Descriptors nobody asked for: closed at once. */
			size_t k, nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fd;

			for (k = 0; k < nfd; k++) {
				memcpy(&fd, CMSG_DATA(h) + k * sizeof fd, sizeof fd);
				close(fd);
			}
		}
	}
	p->addrlen = mh.msg_namelen <= sizeof p->addr ? mh.msg_namelen : 0;
	return mh.msg_flags & MSG_TRUNC ? (ssize_t)cap : n;
}

int mt_led_chan_allowed(const struct mt_led_peer *p)
{
	return p->uid == 0 || p->uid == geteuid();
}

void mt_led_chan_answer(struct mt_led_chan *c, const struct mt_led_peer *p, const char *text)
{
	/* An unbound sender has no address to answer (its family alone). */
	if (p->addrlen > sizeof(sa_family_t) &&
	    sendto(c->sock, text, strlen(text), MSG_DONTWAIT, (const struct sockaddr *)&p->addr,
		   p->addrlen) < 0) {
		/* A sender gone or not reading: nothing to do. */
	}
}

void mt_led_chan_close(struct mt_led_chan *c)
{
	if (c->sock >= 0) {
		close(c->sock);
		if (c->dirfd >= 0)
			unlinkat(c->dirfd, c->name, 0);
	}
	if (c->lock >= 0)
		close(c->lock);
	if (c->dirfd >= 0)
		close(c->dirfd);
	c->sock = c->dirfd = c->lock = -1;
}
