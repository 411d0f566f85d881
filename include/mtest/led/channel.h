/* mtest led: the LED daemon's control channel (docs/leds.md).
 *
 * A datagram socket <runtime>/led-<board>.sock in a runtime directory that
 * only its owner can write, opened by the trust rule (base/trust.h):
 * $MTEST_RUNTIME_DIR if set, else /run/mtest for root, else
 * $XDG_RUNTIME_DIR/mtest. Nobody else can bind that name first, and a
 * squatted or loose runtime directory is named and not used. Runs and
 * clients look in /run/mtest too, so that root's daemon is seen by
 * everyone. The socket is mode 0666: anyone may see that the daemon is
 * there (a run then leaves the LEDs to it), but every request carries its
 * sender's credentials (SO_PASSCRED: the kernel's, not the sender's word)
 * and only root and the daemon's own user are obeyed; others are answered
 * "refused" and the daemon says so in one line. A lock file beside the
 * socket (mode 0600) keeps one daemon per board. */
#ifndef MTEST_LED_CHANNEL_H
#define MTEST_LED_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "mtest/led/board.h"
#include "mtest/limits.h"

struct mt_led_chan {
	int sock, dirfd, lock;		/* -1 when not held */
	char dir[MT_PATH_MAX];		/* the runtime directory */
	char name[96];			/* led-<board>.sock */
};

/* A daemon's peer: who sent a request. */
struct mt_led_peer {
	uid_t uid;			/* (uid_t)-1 when the kernel gave none */
	pid_t pid;
	struct sockaddr_un addr;	/* where the answer goes */
	socklen_t addrlen;
};

/* Is a daemon there for this board (in any runtime directory this user
 * looks in)? 1 with a socket connected to it in *sock (-1 if sock is
 * NULL: closed), 0 if none. A runtime directory that is refused by the
 * trust rule is said in why (one line; "" when none was). */
int mt_led_chan_find(const struct mt_board *b, int *sock, char *where, size_t wcap,
		     char *why, size_t cap);
/* Send a request on a socket from mt_led_chan_find and wait up to
 * wait_ms for the answer. 1 with the answer in reply, 0 with errno
 * (ETIMEDOUT: no answer). */
int mt_led_chan_ask(int sock, const char *msg, char *reply, size_t cap, int wait_ms);

/* Take the board's channel for a daemon: 1 held, 0 another daemon holds
 * it, -1 on an error (why: one line naming the runtime directory). */
int mt_led_chan_claim(struct mt_led_chan *c, const struct mt_board *b, char *why, size_t cap);
/* One request, without waiting: its length (the text NUL-terminated in
 * msg), or -1 (errno EAGAIN when there is none). A request longer than
 * cap - 1 is cut and flagged by a length of cap. */
ssize_t mt_led_chan_recv(struct mt_led_chan *c, char *msg, size_t cap, struct mt_led_peer *p);
/* Root or the daemon's own user. */
int mt_led_chan_allowed(const struct mt_led_peer *p);
/* Answer a request (best effort, never blocking). */
void mt_led_chan_answer(struct mt_led_chan *c, const struct mt_led_peer *p, const char *text);
/* Let go: the socket's name is removed. */
void mt_led_chan_close(struct mt_led_chan *c);

#endif
