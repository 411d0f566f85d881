/* mtest: systemd's service notification (sd_notify(3)) without libsystemd:
 * READY=1 once started, WATCHDOG=1 from the loop at half of the unit's
 * WatchdogSec, STOPPING=1 at the end. Without $NOTIFY_SOCKET every call is
 * a no-op. */
#ifndef MTEST_NOTIFY_H
#define MTEST_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

struct mt_notify {
	int fd;				/* -1: not under systemd's notify */
	struct sockaddr_un addr;
	socklen_t len;
	int64_t every_us, next_us;	/* watchdog pings; MT_NEVER when off */
};

/* Read and unset NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (the
 * workers and their tests must not ping for us). Returns 0 with a message
 * in err when the socket is named but cannot be used; n is usable anyway. */
int mt_notify_open(struct mt_notify *n, char *err, size_t cap);
/* Send one state ("READY=1", "STATUS=..."); 1 when sent or not wanted. */
int mt_notify_send(struct mt_notify *n, const char *state);
/* Ping the watchdog when due. */
void mt_notify_tick(struct mt_notify *n, int64_t now_us);
int64_t mt_notify_next_us(const struct mt_notify *n);
void mt_notify_close(struct mt_notify *n);

#endif
