/* mtest led: the LED daemon (include/mtest/led/daemon.h). */
#include "mtest/led/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/base/msg.h"
#include "mtest/base/notify.h"
#include "mtest/base/procfs.h"
#include "mtest/base/heapcheck.h"
#include "mtest/base/trust.h"
#include "mtest/led/channel.h"
#include "mtest/led/leds.h"
#include "mtest/led/request.h"
#include "mtest/run/run.h"
#include "mtest/state/runstate.h"

#define LOOK_EVERY_US 1000000	/* the bounded poll behind inotify */
#define LAMP_US 3000000		/* a lamp test lasts 3 s */
#define CONSUMER "mtest-led"

#define ANSWER_MS 2000	/* how long a client waits for the daemon's answer */

struct daemon {
	const struct mt_opts *o;
	struct mt_board board;
	struct mt_leds leds;
	int opened;		/* the LEDs are held */
	struct mt_led_chan chan;
	int sig, ino, wd;
	dev_t dev;		/* the state directory watched */
	ino_t inode;
	char refused[MT_PATH_MAX + 200];	/* why the state directory is not trusted */
	enum mt_led_code shown;	/* what the state directory says */
	enum mt_led_code asked;	/* a request's code, until asked_until_us */
	int64_t asked_until_us;
	int64_t look_us;	/* the next look without an event */
	int64_t said_us;	/* when a refused request was last said */
	unsigned unsaid;	/* refused requests not said since */
	struct mt_notify notify;	/* systemd: READY, the watchdog's pings */
	int quit;
};

static struct daemon D;

int mt_led_daemon_present(const struct mt_board *b, char *why, size_t cap)
{
	char where[MT_PATH_MAX + 100];

	return mt_led_chan_find(b, NULL, where, sizeof where, why, cap);
}

/* ---- what the state directory says ------------------------------------------- */

/* A run holds the state directory and goes on. One stopped (SIGSTOP, a
 * debugger) tells no verdict until it goes on, and a frozen one is ended by
 * systemd's watchdog: the LEDs say incomplete meanwhile. */
static int busy(int dirfd)
{
	int fd = mt_open_file_at(dirfd, "lock");
	struct mt_proc p;
	pid_t pid;

	if (fd < 0)
		return 0;
	pid = mt_lock_holder(fd);
	close(fd);
	return pid != 0 && !(pid > 0 && mt_proc_stat(pid, &p) && (p.state == 'T' || p.state == 't'));
}

static enum mt_led_code from_exit(int code)
{
	return mt_led_code_of_end(code, 0, 0, 0);
}

static enum mt_led_code read_state(int dirfd)
{
	char text[1024];
	struct mt_runstate st;
	enum mt_led_code c;
	struct stat sb;
	ssize_t n;

	/* A regular file or nothing: a FIFO, a device or a link is damage,
	 * and opening it never waits. */
	n = mt_read_file_at(dirfd, "state.json", text, sizeof text);
	if (n < 0) {
		if (errno != ENOENT)
			return MT_LED_FAULT;
		/* No run yet; runs without state.json are the state directory damaged. */
		return fstatat(dirfd, "runs", &sb, AT_SYMLINK_NOFOLLOW) == 0 ? MT_LED_FAULT :
		       MT_LED_NONE;
	}
	if ((size_t)n == sizeof text - 1 || !mt_runstate_parse(text, (size_t)n, &st))
		return MT_LED_FAULT;
	if (strcmp(st.status, "running") == 0)
		return busy(dirfd) ? MT_LED_RUNNING : MT_LED_INCOMPLETE;	/* died, or stopped */
	c = mt_led_code_named(st.led);
	if (c == MT_LED_COUNT || c == MT_LED_RUNNING || c == MT_LED_LAMP || c == MT_LED_NONE)
		c = strcmp(st.status, "interrupted") == 0 ? MT_LED_INCOMPLETE :
		    from_exit(st.exit_code);
	return c;
}

/* The state directory, opened by the trust rule (a directory another
 * user could write would let them choose the LEDs); -1 when it is
 * missing or refused (said once per reason). */
static int open_state(struct daemon *d)
{
	char why[sizeof d->refused];
	int fd = mt_trust_open(d->o->state_dir, 0, 0, why, sizeof why);

	if (fd >= 0 || errno == ENOENT || errno == ENOTDIR) {
		d->refused[0] = '\0';
		return fd;
	}
	if (strcmp(why, d->refused) != 0)
		mt_msg("mtest led: state directory %s: %s: showing fault", d->o->state_dir, why);
	snprintf(d->refused, sizeof d->refused, "%s", why);
	return -1;
}

/* Watch the state directory (again, if it was replaced or is back): the
 * directory just opened, through its descriptor. */
static void watch(struct daemon *d, int dirfd)
{
	char at[48];
	struct stat sb;

	if (dirfd < 0 || fstat(dirfd, &sb) < 0) {
		d->dev = 0;
		d->inode = 0;
		return;
	}
	if (d->wd >= 0 && sb.st_dev == d->dev && sb.st_ino == d->inode)
		return;
	if (d->wd >= 0)
		inotify_rm_watch(d->ino, d->wd);
	snprintf(at, sizeof at, "/proc/self/fd/%d", dirfd);
	d->wd = inotify_add_watch(d->ino, at,
				  IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
				  IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB);
	d->dev = sb.st_dev;
	d->inode = sb.st_ino;
}

/* ---- the LEDs ------------------------------------------------------------------ */

static void show(struct daemon *d, int64_t now)
{
	enum mt_led_code c = now < d->asked_until_us ? d->asked : d->shown;

	if (d->opened)
		mt_leds_show(&d->leds, c, now);
}

static int open_leds(struct daemon *d, int quiet_busy)
{
	char err[1024];
	int is_busy;

	if (d->opened)
		return 1;
	if (mt_leds_open(&d->leds, &d->board, CONSUMER, &is_busy, err, sizeof err)) {
		d->opened = 1;
		return 1;
	}
	if (!is_busy || !quiet_busy)
		mt_msg("%s", err);
	return is_busy ? 0 : -1;
}

static void look(struct daemon *d, int64_t now)
{
	int fd = open_state(d);

	watch(d, fd);
	d->shown = fd < 0 ? MT_LED_FAULT : read_state(fd);
	if (fd >= 0)
		close(fd);
	/* A run held the lines (no daemon when it began): take them now. */
	if (!d->opened)
		open_leds(d, 1);
	show(d, now);
	d->look_us = now + LOOK_EVERY_US;
}

/* A refused request, said in one line (at most one a second: a flood
 * must not fill the journal). */
static void say_refused(struct daemon *d, const struct mt_led_peer *p, const char *msg,
			int64_t now)
{
	char shown[MT_LED_REQUEST_MAX];
	struct mt_buf b;

	if (d->said_us && now - d->said_us < 1000000) {
		d->unsaid++;
		return;
	}
	mt_buf_init(&b, shown, sizeof shown, -1);
	mt_buf_line(&b, msg, 40);
	if (p->uid == (uid_t)-1)
		mt_msg("mtest led: refused '%s' from a sender without credentials%s", mt_buf_str(&b),
		       d->unsaid ? " (and more refused requests since the last said)" : "");
	else
		mt_msg("mtest led: refused '%s' from uid %u (pid %d): only root and uid %u may "
		       "drive the LEDs%s", mt_buf_str(&b), (unsigned)p->uid, (int)p->pid,
		       (unsigned)geteuid(), d->unsaid ? "; more were refused since the last line" :
		       "");
	d->said_us = now;
	d->unsaid = 0;
}

static void on_request(struct daemon *d, int64_t now)
{
	char msg[MT_LED_REQUEST_MAX + 1], answer[96];
	struct mt_led_request r;
	struct mt_led_peer p;
	ssize_t n;
	int k;

	/* A bounded batch: a flood must not keep the rhythm and SIGTERM waiting. */
	for (k = 0; k < 64 && (n = mt_led_chan_recv(&d->chan, msg, sizeof msg, &p)) >= 0; k++) {
		if (!mt_led_chan_allowed(&p)) {
			say_refused(d, &p, msg, now);
			snprintf(answer, sizeof answer, "refused: only root and uid %u may drive "
				 "the LEDs", (unsigned)geteuid());
		} else if ((size_t)n < sizeof msg && mt_led_request_parse(msg, (size_t)n, &r)) {
			d->asked = r.code;
			d->asked_until_us = now + (int64_t)r.secs * 1000000;
			snprintf(answer, sizeof answer, "ok");
		} else {
			snprintf(answer, sizeof answer, "bad request");
		}
		mt_led_chan_answer(&d->chan, &p, answer);
	}
	show(d, now);
}

static void reload(struct daemon *d, int64_t now)
{
	static struct mt_board fresh;
	char err[1024];

	if (!mt_board_load(&fresh, d->board.path, err, sizeof err)) {
		mt_msg("SIGHUP: %s; the board as it was stays", err);
		return;
	}
	if (d->opened)
		mt_leds_close(&d->leds);
	d->opened = 0;
	d->board = fresh;
	if (open_leds(d, 1) < 0)
		mt_msg("SIGHUP: the new board's LEDs cannot be driven; retrying every second");
	mt_msg("SIGHUP: board %s read again", d->board.path);
	look(d, now);
}

static void on_signal(struct daemon *d, int64_t now)
{
	struct signalfd_siginfo si;

	while (read(d->sig, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGHUP)
			reload(d, now);
		else
			d->quit = 1;
	}
}

static void drain_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(d->ino, buf, sizeof buf) > 0) {
	}
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int loop(struct daemon *d, int64_t end_us)
{
	struct pollfd p[3];
	int64_t now, next;
	int n;

	for (;;) {
		now = mt_now_us();
		if (d->quit || now >= end_us)
			return MT_EXIT_OK;
		if (d->opened)
			mt_leds_tick(&d->leds, now);
		if (d->asked_until_us && now >= d->asked_until_us) {
			if (d->o->led_lamp)
				return MT_EXIT_OK;	/* the lamp test alone */
			d->asked_until_us = 0;
			show(d, now);
		}
		if (d->ino >= 0 && now >= d->look_us)
			look(d, now);
		mt_notify_tick(&d->notify, now);
		next = min64(min64(end_us, d->opened ? mt_leds_next_us(&d->leds) : MT_NEVER),
			     d->ino >= 0 ? d->look_us : MT_NEVER);
		if (d->asked_until_us)
			next = min64(next, d->asked_until_us);
		next = min64(next, mt_notify_next_us(&d->notify));
		if (!d->opened)
			next = min64(next, now + LOOK_EVERY_US);
		p[0] = (struct pollfd){ .fd = d->sig, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = d->chan.sock, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = d->ino, .events = POLLIN };
		n = poll(p, 3, next == MT_NEVER ? -1 : next <= now ? 0 :
			 (int)((next - now + 999) / 1000));
		if (n < 0 && errno != EINTR) {
			mt_msg_sys("mtest led: poll");
			return MT_EXIT_INTERNAL;
		}
		now = mt_now_us();
		if (n > 0 && (p[0].revents & POLLIN))
			on_signal(d, now);
		if (n > 0 && (p[1].revents & POLLIN))
			on_request(d, now);
		if (n > 0 && (p[2].revents & POLLIN)) {
			drain_inotify(d);
			look(d, now);
		}
	}
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return 0;
	d->sig = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return d->sig >= 0;
}

static const char *level_word(int v)
{
	return v == 2 ? "with status" : v ? "on" : "off";
}

/* The table of docs/leds.md and the man page, from the code itself. */
static int codes(void)
{
	int c;

	printf("| code | status LED | ok LED | alarm LED | meaning |\n|---|---|---|---|---|\n");
	for (c = 0; c < MT_LED_COUNT; c++) {
		const struct mt_led_look *k = mt_led_look((enum mt_led_code)c);

		printf("| %s | %s | %s | %s | %s |\n", k->name, k->rhythm, level_word(k->ok),
		       level_word(k->alarm), k->meaning);
	}
	return fflush(stdout) == 0 ? MT_EXIT_OK : MT_EXIT_INTERNAL;
}

/* The board's channel is ours: the daemon, or one code on the bench. */
static int run_daemon(struct daemon *d)
{
	const struct mt_opts *o = d->o;
	char why[160];
	int64_t now;
	int r;

	if (!setup_signals(d)) {
		mt_msg_sys("mtest led: cannot set up signals");
		return MT_EXIT_INTERNAL;
	}
	now = mt_now_us();
	if (o->led_lamp || o->led_show != MT_LED_COUNT) {
		/* On the bench: show one code ourselves. */
		r = open_leds(d, 0);
		if (r <= 0)
			return MT_EXIT_USAGE;	/* said in one line: busy, or a bad board */
		d->asked = o->led_lamp ? MT_LED_LAMP : (enum mt_led_code)o->led_show;
		d->asked_until_us = o->led_lamp ? now + LAMP_US : MT_NEVER;
		d->shown = MT_LED_COUNT;
		mt_leds_show(&d->leds, d->asked, now);
		r = loop(d, o->led_for_us > 0 ? now + o->led_for_us : MT_NEVER);
		mt_leds_close(&d->leds);
		return r;
	}
	if (!o->state_dir) {
		mt_msg("mtest led: no state directory (give --state-dir, MTEST_STATE_DIR, state_dir "
		       "in the config file, or defaults.state_dir in the board file)");
		return MT_EXIT_USAGE;
	}
	d->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (d->ino < 0) {
		mt_msg_sys("mtest led: inotify");
		return MT_EXIT_INTERNAL;
	}
	if (open_leds(d, 1) < 0)
		return MT_EXIT_USAGE;	/* a board that cannot work: said in one line */
	look(d, now);
	if (!mt_notify_open(&d->notify, why, sizeof why))
		mt_msg("mtest led: %s; systemd will not hear from the daemon", why);
	mt_heapcheck_arm();	/* no heap from here on (tests count it) */
	mt_notify_send(&d->notify, "READY=1");
	r = loop(d, MT_NEVER);
	mt_notify_send(&d->notify, "STOPPING=1");
	mt_notify_close(&d->notify);
	mt_heapcheck_disarm();
	if (d->opened)
		mt_leds_close(&d->leds);
	return r;
}

/* Ask the daemon that holds the board's channel. */
static int ask(struct daemon *d, int sock, const char *where)
{
	const struct mt_opts *o = d->o;
	struct mt_led_request r = { .lamp_test = o->led_lamp, .code = MT_LED_LAMP, .secs = 3 };
	char msg[MT_LED_REQUEST_MAX], answer[MT_LED_REQUEST_MAX * 2];
	int ok;

	if (!o->led_lamp) {
		int64_t secs = o->led_for_us > 0 ? (o->led_for_us + 999999) / 1000000 : 10;

		r.code = (enum mt_led_code)o->led_show;
		r.secs = (unsigned)(secs > MT_LED_SHOW_MAX_SECS ? MT_LED_SHOW_MAX_SECS : secs);
	}
	if (!mt_led_request_format(&r, msg, sizeof msg)) {
		close(sock);
		mt_msg("mtest led: --show %s: not a request", mt_led_look(o->led_show)->name);
		return MT_EXIT_USAGE;
	}
	ok = mt_led_chan_ask(sock, msg, answer, sizeof answer, ANSWER_MS);
	close(sock);
	if (!ok) {
		mt_msg("mtest led: the LED daemon of board %s (%s) %s", d->board.name, where,
		       errno == ETIMEDOUT ? "did not answer" : mt_strerror(errno));
		return MT_EXIT_INTERNAL;
	}
	if (strcmp(answer, "ok") != 0) {
		mt_msg("mtest led: the LED daemon of board %s %s", d->board.name, answer);
		return MT_EXIT_USAGE;
	}
	printf("mtest led: asked the LED daemon of board %s: %s\n", d->board.name, msg);
	return MT_EXIT_OK;
}

/* Someone holds the board's channel already: ask it, or say so. */
static int not_first(struct daemon *d)
{
	char where[MT_PATH_MAX + 100], why[MT_PATH_MAX + 300];
	int sock;

	if (!mt_led_chan_find(&d->board, &sock, where, sizeof where, why, sizeof why)) {
		mt_msg("mtest led: an LED daemon holds board %s's lock in %s but does not answer",
		       d->board.name, d->chan.dir);
		return MT_EXIT_BUSY;
	}
	if (d->o->led_lamp || d->o->led_show != MT_LED_COUNT)
		return ask(d, sock, where);
	close(sock);
	mt_msg("mtest led: an LED daemon runs already for board %s (%s)", d->board.name, where);
	return MT_EXIT_BUSY;
}

int mt_led_main(const struct mt_opts *o)
{
	struct daemon *d = &D;
	char why[MT_PATH_MAX + 300], where[MT_PATH_MAX + 100];
	int r, sock;

	if (o->led_codes)
		return codes();
	memset(d, 0, sizeof *d);
	d->notify.fd = -1;
	d->notify.next_us = MT_NEVER;
	d->o = o;
	d->sig = d->ino = d->wd = -1;
	d->chan.sock = d->chan.dirfd = d->chan.lock = -1;
	if (!o->board) {
		mt_msg("mtest led: no board (give --board NAME|PATH, MTEST_BOARD, or board in the "
		       "config file; boards are in board/)");
		return MT_EXIT_USAGE;
	}
	d->board = *o->board;
	/* A daemon of root's or ours already there: ask it. */
	if (mt_led_chan_find(&d->board, &sock, where, sizeof where, why, sizeof why)) {
		if (o->led_lamp || o->led_show != MT_LED_COUNT)
			return ask(d, sock, where);
		close(sock);
		mt_msg("mtest led: an LED daemon runs already for board %s (%s)", d->board.name,
		       where);
		return MT_EXIT_BUSY;
	}
	snprintf(d->refused, sizeof d->refused, "%s", why);	/* a squatted directory, or "" */
	r = mt_led_chan_claim(&d->chan, &d->board, why, sizeof why);
	if (r < 0) {
		mt_msg("mtest led: %s", why);
		return MT_EXIT_USAGE;
	}
	if (d->refused[0])
		mt_msg("mtest led: %s", d->refused);	/* another one, named */
	d->refused[0] = '\0';
	if (r == 0)
		return not_first(d);
	r = run_daemon(d);
	mt_led_chan_close(&d->chan);
	return r;
}
