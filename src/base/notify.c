/* mtest: sd_notify(3)'s datagram protocol, as systemd documents it: one
 * datagram per state to the AF_UNIX socket $NOTIFY_SOCKET names ('@' for
 * the abstract namespace). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/clock.h"
#include "mtest/base/notify.h"

static int64_t watchdog_us(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	long long v;

	if (!usec || !*usec)
		return 0;
	/* Meant for another process (the unit's main pid is not us). */
	if (pid && *pid && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	errno = 0;
	v = strtoll(usec, &end, 10);
	return errno || *end || v <= 0 ? 0 : (int64_t)v;
}

int mt_notify_open(struct mt_notify *n, char *err, size_t cap)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len = path ? strlen(path) : 0;
	int64_t wd = watchdog_us();

	memset(n, 0, sizeof *n);
	n->fd = -1;
	n->every_us = n->next_us = MT_NEVER;
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (!len) {
		unsetenv("NOTIFY_SOCKET");
		return 1;
	}
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof n->addr.sun_path) {
		snprintf(err, cap, "NOTIFY_SOCKET: not a socket path: '%.64s'", path);
		unsetenv("NOTIFY_SOCKET");
		return 0;
	}
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@')
		n->addr.sun_path[0] = '\0';
	n->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	unsetenv("NOTIFY_SOCKET");
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		snprintf(err, cap, "NOTIFY_SOCKET: socket: %s", strerror(errno));
		return 0;
	}
	if (wd > 0) {
		n->every_us = wd / 2;
		n->next_us = mt_now_us() + n->every_us;
	}
	return 1;
}

int mt_notify_send(struct mt_notify *n, const char *state)
{
	ssize_t r;

	if (n->fd < 0)
		return 1;
	do
		r = sendto(n->fd, state, strlen(state), MSG_NOSIGNAL,
			   (const struct sockaddr *)&n->addr, n->len);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)strlen(state);
}

void mt_notify_tick(struct mt_notify *n, int64_t now_us)
{
	if (now_us < n->next_us)
		return;
	mt_notify_send(n, "WATCHDOG=1");
	n->next_us = now_us + n->every_us;
}

int64_t mt_notify_next_us(const struct mt_notify *n)
{
	return n->next_us;
}

void mt_notify_close(struct mt_notify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	n->next_us = MT_NEVER;
}
