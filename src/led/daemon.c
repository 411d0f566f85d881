/* mtest led: the LED daemon (include/mtest/led/daemon.h). */
#include "mtest/led/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
#include "mtest/base/heapcheck.h"
#include "mtest/led/leds.h"
#include "mtest/run/run.h"
#include "mtest/state/runstate.h"

#define LOOK_EVERY_US 1000000	/* the bounded poll behind inotify */
#define LAMP_US 3000000		/* a lamp test lasts 3 s */
#define CONSUMER "mtest-led"

struct daemon {
	const struct mt_opts *o;
	struct mt_board board;
	struct mt_leds leds;
	int opened;		/* the LEDs are held */
	int sock, sig, ino, wd;
	dev_t dev;		/* the state directory watched */
	ino_t inode;
	enum mt_led_code shown;	/* what the state directory says */
	enum mt_led_code asked;	/* a request's code, until asked_until_us */
	int64_t asked_until_us;
	int64_t look_us;	/* the next look without an event */
	struct mt_notify notify;	/* systemd: READY, the watchdog's pings */
	int quit;
};

static struct daemon D;

static socklen_t address(const struct mt_board *b, struct sockaddr_un *a)
{
	int n;

	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	/* Abstract: no file to leave behind, gone with the process. */
	n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "mtest-led/%s", b->name);
	if (n > (int)sizeof a->sun_path - 2)
		n = (int)sizeof a->sun_path - 2;
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* Bind the board's socket: 1 bound (fd in *fd), 0 someone has it, -1 error. */
static int claim(const struct mt_board *b, int *fd)
{
	struct sockaddr_un a;
	socklen_t len = address(b, &a);

	*fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*fd < 0)
		return -1;
	if (bind(*fd, (struct sockaddr *)&a, len) == 0)
		return 1;
	close(*fd);
	*fd = -1;
	return errno == EADDRINUSE ? 0 : -1;
}

int mt_led_daemon_present(const struct mt_board *b)
{
	int fd, r = claim(b, &fd);

	if (r == 1)
		close(fd);
	return r == 0;
}

static int ask(const struct mt_board *b, const char *msg)
{
	struct sockaddr_un a;
	socklen_t len = address(b, &a);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	ok = sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&a, len) == (ssize_t)strlen(msg);
	close(fd);
	return ok;
}

/* ---- what the state directory says ------------------------------------------- */

static int busy(const char *dir)
{
	char path[MT_PATH_MAX + 8];
	int fd, b;

	snprintf(path, sizeof path, "%s/lock", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	b = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return b;
}

static enum mt_led_code from_exit(int code)
{
	return mt_led_code_of_end(code, 0, 0, 0);
}

static enum mt_led_code read_state(const char *dir)
{
	char path[MT_PATH_MAX + 16], text[1024];
	struct mt_runstate st;
	enum mt_led_code c;
	struct stat sb;
	ssize_t n;

	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return MT_LED_FAULT;
	snprintf(path, sizeof path, "%s/state.json", dir);
	n = mt_read_file(path, text, sizeof text);
	if (n < 0) {
		if (errno != ENOENT)
			return MT_LED_FAULT;
		snprintf(path, sizeof path, "%s/runs", dir);
		/* No run yet; runs without state.json are the state directory damaged. */
		return stat(path, &sb) == 0 ? MT_LED_FAULT : MT_LED_NONE;
	}
	if ((size_t)n == sizeof text || !mt_runstate_parse(text, (size_t)n, &st))
		return MT_LED_FAULT;
	if (strcmp(st.status, "running") == 0)
		return busy(dir) ? MT_LED_RUNNING : MT_LED_INCOMPLETE;	/* it died */
	c = mt_led_code_named(st.led);
	if (c == MT_LED_COUNT || c == MT_LED_RUNNING || c == MT_LED_LAMP || c == MT_LED_NONE)
		c = strcmp(st.status, "interrupted") == 0 ? MT_LED_INCOMPLETE :
		    from_exit(st.exit_code);
	return c;
}

/* Watch the state directory (again, if it was replaced or is back). */
static void watch(struct daemon *d)
{
	struct stat sb;

	if (stat(d->o->state_dir, &sb) < 0) {
		d->dev = 0;
		d->inode = 0;
		return;
	}
	if (d->wd >= 0 && sb.st_dev == d->dev && sb.st_ino == d->inode)
		return;
	if (d->wd >= 0)
		inotify_rm_watch(d->ino, d->wd);
	d->wd = inotify_add_watch(d->ino, d->o->state_dir,
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
	watch(d);
	d->shown = read_state(d->o->state_dir);
	/* A run held the lines (no daemon when it began): take them now. */
	if (!d->opened)
		open_leds(d, 1);
	show(d, now);
	d->look_us = now + LOOK_EVERY_US;
}

static void on_request(struct daemon *d, int64_t now)
{
	char msg[64], name[32];
	unsigned secs = 10;
	ssize_t n;
	enum mt_led_code c;

	while ((n = recv(d->sock, msg, sizeof msg - 1, 0)) > 0) {
		msg[n] = '\0';
		if (strcmp(msg, "lamp") == 0) {
			d->asked = MT_LED_LAMP;
			d->asked_until_us = now + LAMP_US;
		} else if (sscanf(msg, "show %31s %u", name, &secs) >= 1 &&
			   (c = mt_led_code_named(name)) != MT_LED_COUNT) {
			d->asked = c;
			d->asked_until_us = now + (secs > 3600 ? 3600 : secs) * 1000000LL;
		}
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
		p[1] = (struct pollfd){ .fd = d->sock, .events = POLLIN };
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

int mt_led_main(const struct mt_opts *o)
{
	struct daemon *d = &D;
	char msg[64], why[160];
	int r;
	int64_t now;

	if (o->led_codes)
		return codes();
	memset(d, 0, sizeof *d);
	d->notify.fd = -1;
	d->notify.next_us = MT_NEVER;
	d->o = o;
	d->sock = d->sig = d->ino = d->wd = -1;
	if (!o->board) {
		mt_msg("mtest led: no board (give --board NAME|PATH, MTEST_BOARD, or board in the "
		       "config file; boards are in board/)");
		return MT_EXIT_USAGE;
	}
	d->board = *o->board;
	r = claim(&d->board, &d->sock);
	if (r < 0) {
		mt_msg_sys("mtest led: cannot bind its socket");
		return MT_EXIT_INTERNAL;
	}
	if (r == 0) {
		/* The daemon runs: ask it. */
		if (o->led_lamp)
			snprintf(msg, sizeof msg, "lamp");
		else if (o->led_show != MT_LED_COUNT)
			snprintf(msg, sizeof msg, "show %s %lld", mt_led_look(o->led_show)->name,
				 (long long)(o->led_for_us > 0 ? (o->led_for_us + 999999) / 1000000 :
					     10));
		else {
			mt_msg("mtest led: an LED daemon runs already for board %s", d->board.name);
			return MT_EXIT_BUSY;
		}
		if (!ask(&d->board, msg)) {
			mt_msg_sys("mtest led: cannot reach the LED daemon of board %s",
				   d->board.name);
			return MT_EXIT_INTERNAL;
		}
		printf("mtest led: asked the LED daemon of board %s: %s\n", d->board.name, msg);
		return MT_EXIT_OK;
	}
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
