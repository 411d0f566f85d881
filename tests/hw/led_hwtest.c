/* led_hwtest MTEST BOARD sim|debugfs|uleds [--fault ignore-sigterm]: the
 * real `mtest led` daemon on a real kernel (make check-hw boots it in qemu:
 * tools/qemu-gpio-*).
 *
 * It starts the daemon on BOARD with a state directory of its own, drives
 * it through every LED code by writing state.json as runs do (and holding
 * the state directory's lock for a run in progress), and reads the LEDs back
 * from the kernel while the daemon holds them: gpio-sim's sim_gpioN/value
 * (sim), /sys/kernel/debug/gpio (debugfs, for the PL061), or the brightness
 * changes of uleds devices it made itself (uleds, for the LED class and the
 * kernel's pattern trigger). Sampling over time, it checks each rhythm's
 * period within 20 % and every step, the ok and alarm LEDs, a fault within
 * a second of the state directory's deletion (2 s bound), SIGHUP, a lamp test asked of
 * the daemon, and that the lines are let go at SIGTERM. One line per check;
 * exit 0 when all pass, 1 if one fails, 2 on an error.
 *
 * What each code must look like is written out below (CODES), from
 * docs/leds.md as tests/e2e/test_leds.py has it, not taken from
 * src/led/codes.c, the daemon's own table: a wrong table there fails here.
 *
 * Every wait is bounded (WAIT_S for a child to end): a daemon that does not
 * end at SIGTERM, or a request that never returns, is a FAIL line that says
 * so, never a hang that the guest's timeout would have to end.
 * --fault ignore-sigterm checks that: the daemon is started under a stand-in
 * parent that ignores SIGTERM (and passes SIGHUP on), and after the first
 * code the driver goes straight to SIGTERM; it must then FAIL (make
 * check-hw's x86-sigterm-ignored leg wants exactly that). */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STATE "/tmp/hwstate"
#define MAXT 4096
#define ULEDS_NAME 64	/* LED_MAX_NAME_SIZE */
#define WAIT_S 20	/* for a child to end: the daemon at SIGTERM takes
			   milliseconds natively; 20 s covers an emulated
			   (TCG) guest on a loaded 2-core host */

/* The codes as docs/leds.md tells them: the status LED's rhythm in ms,
 * starting "on" and alternating; ok and alarm: 0 off, 1 on, -1 with the
 * status LED. One step: steady on. */
enum code { NONE, PASS, RUNNING, QUARANTINED, FAILURES, HANGS, INCOMPLETE, FAULT };
struct look {
	const char *name;
	int ok, alarm, nsteps;
	int ms[8];
};
static const struct look CODES[] = {
	[NONE] = { "none", 0, 0, 2, { 50, 2950 } },
	[PASS] = { "pass", 1, 0, 1, { 1000 } },
	[RUNNING] = { "running", 0, 0, 2, { 1000, 1000 } },
	[QUARANTINED] = { "quarantined", 1, 0, 2, { 250, 1500 } },
	[FAILURES] = { "failures", 0, 1, 4, { 250, 250, 250, 1500 } },
	[HANGS] = { "hangs", 0, 1, 6, { 250, 250, 250, 250, 250, 1500 } },
	[INCOMPLETE] = { "incomplete", 0, 1, 8, { 250, 250, 250, 250, 250, 250, 250, 1500 } },
	[FAULT] = { "fault", 0, -1, 2, { 100, 100 } },
};

enum kind { SIM, DEBUGFS, ULEDS };

static enum kind kind;
static const char *mtest, *board;
static int uled_fd[3] = { -1, -1, -1 };
static int failed;

struct track {
	int n, level;
	int64_t t[MAXT];
	int v[MAXT];
};
static struct track tr[3];	/* status, ok, alarm: lines 0, 1, 2 */

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

static int read_int(const char *path)
{
	char b[16];
	int fd = open(path, O_RDONLY), n;

	if (fd < 0)
		return -1;
	n = (int)read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return -1;
	b[n] = '\0';
	return atoi(b);
}

/* Lines 0..2 of the chip the board names, from debugfs: "gpio-N (...) out hi". */
static void read_debugfs(int out[3])
{
	static char text[65536];
	const char *label = getenv("GPIO_QEMU_CHIP_LABEL");
	int fd = open("/sys/kernel/debug/gpio", O_RDONLY), n, base = -1, in = 0, g;
	char *line, *save;

	out[0] = out[1] = out[2] = -1;
	if (fd < 0)
		return;
	n = (int)read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "gpiochip", 8) == 0) {
			in = label && strstr(line, label) != NULL;
			if (in && !(strstr(line, "GPIOs ") && sscanf(strstr(line, "GPIOs ") + 6, "%d",
								   &base) == 1))
				base = -1;
			continue;
		}
		if (in && base >= 0 && sscanf(line, " gpio-%d", &g) == 1 && g - base >= 0 &&
		    g - base < 3)
			out[g - base] = strstr(line, " out hi") ? 1 : strstr(line, " out lo") ? 0 : -1;
	}
}

static void record(int r, int v, int64_t t)
{
	struct track *k = &tr[r];

	if (v < 0 || v == k->level || k->n >= MAXT)
		return;
	k->level = v;
	k->t[k->n] = t;
	k->v[k->n++] = v;
}

/* Watch the three LEDs until `until`, noting every change. */
static void sample(int64_t until)
{
	const char *sim = getenv("GPIO_QEMU_SIM_DIR");
	char path[512];
	int v[3], r;

	while (now_us() < until) {
		if (kind == ULEDS) {
			struct pollfd p[3];
			int64_t left = (until - now_us()) / 1000;

			for (r = 0; r < 3; r++)
				p[r] = (struct pollfd){ .fd = uled_fd[r], .events = POLLIN };
			if (poll(p, 3, left > 0 ? (int)left : 0) <= 0)
				continue;
			for (r = 0; r < 3; r++)
				if (p[r].revents & POLLIN) {
					int b = 0;

					if (read(uled_fd[r], &b, sizeof b) == (ssize_t)sizeof b)
						record(r, b > 0, now_us());
				}
			continue;
		}
		if (kind == SIM) {
			for (r = 0; r < 3; r++) {
				snprintf(path, sizeof path, "%s/sim_gpio%d/value", sim ? sim : "", r);
				v[r] = read_int(path);
			}
		} else {
			read_debugfs(v);
		}
		for (r = 0; r < 3; r++)
			record(r, v[r], now_us());
		nap_ms(2);
	}
}

static void reset(void)
{
	int r;

	for (r = 0; r < 3; r++)
		tr[r].n = 0;
}

static void say(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failed += !ok;
}

static int near(double got, double want, double frac, double floor_ms)
{
	double d = got > want ? got - want : want - got;

	return d <= want * frac || d <= floor_ms;
}

/* Do the status LED's `steps` steps from change f on follow look k's rhythm? */
static int follows(const struct look *k, int f, int steps, char *why, size_t cap)
{
	const struct track *s = &tr[0];
	int start, j, n = k->nsteps;
	double held[MAXT], period, want = 0;

	for (j = 0; j < n; j++)
		want += k->ms[j];
	for (j = 0; j < steps; j++)
		held[j] = (double)(s->t[f + j + 1] - s->t[f + j]) / 1000.0;
	for (start = 0; start < n; start++) {
		if ((start % 2 == 0) != s->v[f])	/* even steps are "on" */
			continue;
		for (j = 0; j < steps; j++)
			if (!near(held[j], k->ms[(start + j) % n], 0.3, 25))
				break;
		if (j < steps)
			continue;
		for (period = 0, j = 0; j < n; j++)
			period += held[j];
		snprintf(why, cap, "period %.0f ms (want %.0f), %d steps", period, want, steps);
		return near(period, want, 0.2, 0);
	}
	snprintf(why, cap, "steps do not follow the rhythm (%d changes; from change %d: %.0f %.0f "
		 "%.0f ms)", s->n, f, held[0], held[1], held[2]);
	return 0;
}

/* A full rhythm and one step more (the first change may be cut short, and a
 * few more may still be the code before: the daemon looks again within a
 * second), each step within 30 % or 25 ms and the period within 20 %: the
 * event waited for. A step seen late (this driver or the daemon held up on
 * a loaded host or in an emulated guest) spoils one window; a wrong rhythm
 * spoils them all. */
static int rhythm_ok(const struct look *k, char *why, size_t cap)
{
	int f, win = k->nsteps + 1;

	if (tr[0].n < win + 2) {
		snprintf(why, cap, "%d changes, want at least %d", tr[0].n, win + 2);
		return 0;
	}
	for (f = 1; f + win < tr[0].n; f++)
		if (follows(k, f, win, why, cap))
			return 1;
	follows(k, 1, win, why, cap);
	return 0;
}

static int level_of(int r)
{
	return tr[r].level;
}

/* Sample until the code shows (bounded); check the three LEDs. */
static void check(enum code c, const char *what)
{
	const struct look *k = &CODES[c];
	int64_t t0 = now_us(), len = 0;
	char why[256] = "";
	int i, ok = 1, want_ok, want_alarm;

	for (i = 0; i < k->nsteps; i++)
		len += k->ms[i];
	nap_ms(300);	/* the daemon takes it up (inotify) */
	reset();
	if (k->nsteps > 1) {
		/* Until the rhythm is seen; bounded: six periods and a second. */
		int64_t end = t0 + 300000 + (6 * len + 1000) * 1000LL, next;

		do {
			next = now_us() + 250000;
			sample(next < end ? next : end);
		} while (!(ok = rhythm_ok(k, why, sizeof why)) && now_us() < end);
	} else {
		sample(t0 + 1300000);
		ok = tr[0].n <= 1 && level_of(0) == 1;
		snprintf(why, sizeof why, "steady %d, %d changes", level_of(0), tr[0].n);
	}
	want_ok = k->ok;
	want_alarm = k->alarm;
	if (want_ok >= 0 && level_of(1) != want_ok)
		ok = 0;
	if (want_alarm >= 0 && level_of(2) != want_alarm)
		ok = 0;
	if (want_alarm < 0 && tr[2].n < tr[0].n - 2)
		ok = 0;	/* the alarm LED blinks with the status LED */
	say(ok, "%-12s %-26s %s; ok %d alarm %d", k->name, what, why, level_of(1), level_of(2));
}

static void write_state(const char *status, int code, const char *led)
{
	char text[512];
	FILE *f = fopen(STATE "/state.json.tmp", "w");

	snprintf(text, sizeof text, "{\"v\":1,\"run\":\"20261202T000000.000Z-1\",\"pid\":1,"
		 "\"since\":\"2026-12-02T00:00:00.000Z\",\"status\":\"%s\",\"synced\":0,"
		 "\"exit\":%d%s%s%s}\n", status, code, led ? ",\"led\":\"" : "", led ? led : "",
		 led ? "\"" : "");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 ||
	    rename(STATE "/state.json.tmp", STATE "/state.json") < 0) {
		perror("writing state.json");
		exit(2);
	}
}

static pid_t spawn(char *const argv[])
{
	pid_t p = fork();

	if (p < 0) {
		perror("fork");
		exit(2);
	}
	if (p == 0) {
		setenv("MTEST_CONFIG", "/dev/null", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return p;
}

/* Wait up to `secs` for child p: its exit status, -1 when it died of a
 * signal, or -2 when it had not ended by then (it is killed and reaped). */
static int wait_bounded(pid_t p, int secs)
{
	int64_t until = now_us() + secs * 1000000LL;
	int st;
	pid_t r;

	while ((r = waitpid(p, &st, WNOHANG)) == 0 && now_us() < until)
		nap_ms(10);
	if (r == p)
		return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	kill(p, SIGKILL);
	waitpid(p, &st, 0);	/* SIGKILL cannot be ignored: this ends */
	return -2;
}

/* Run argv to its end, within WAIT_S: its exit status, or -1 and a FAIL. */
static int run(char *const argv[])
{
	int r = wait_bounded(spawn(argv), WAIT_S);

	if (r == -2)
		say(0, "%-12s %-26s did not end within %d s (killed)", argv[0], argv[1], WAIT_S);
	return r < 0 ? -1 : r;
}

/* --fault ignore-sigterm: the daemon under a stand-in parent that ignores
 * SIGTERM and passes SIGHUP on, as a daemon that ignored SIGTERM would be. */
static pid_t daemon_child;

static void pass_hup(int sig)
{
	(void)sig;
	kill(daemon_child, SIGHUP);
}

static pid_t spawn_ignoring_sigterm(char *const argv[])
{
	pid_t p = fork();

	if (p < 0) {
		perror("fork");
		exit(2);
	}
	if (p == 0) {
		daemon_child = spawn(argv);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, pass_hup);
		for (;;)
			pause();
	}
	return p;
}

static void make_uleds(void)
{
	static const char *const names[3] = { "mtest-status", "mtest-ok", "mtest-alarm" };
	struct { char name[ULEDS_NAME]; int max_brightness; } u;
	int r;

	for (r = 0; r < 3; r++) {
		uled_fd[r] = open("/dev/uleds", O_RDWR | O_NONBLOCK);
		memset(&u, 0, sizeof u);
		snprintf(u.name, sizeof u.name, "%s", names[r]);
		u.max_brightness = 255;
		if (uled_fd[r] < 0 || write(uled_fd[r], &u, sizeof u) != (ssize_t)sizeof u) {
			perror("/dev/uleds");
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	char *daemon_argv[] = { NULL, "led", "--board", NULL, "--state-dir", STATE, NULL };
	char *lamp_argv[] = { NULL, "led", "--board", NULL, "--lamp-test", NULL };
	char *show_argv[] = { NULL, "led", "--board", NULL, "--show", "hangs", "--for", "8", NULL };
	int lock, st, r, fault;
	int64_t t0, first;
	pid_t d;

	if (argc != 4 && !(argc == 6 && strcmp(argv[4], "--fault") == 0 &&
			   strcmp(argv[5], "ignore-sigterm") == 0)) {
		fprintf(stderr, "usage: %s MTEST BOARD sim|debugfs|uleds [--fault ignore-sigterm]\n",
			argv[0]);
		return 2;
	}
	fault = argc == 6;
	mtest = argv[1];
	board = argv[2];
	kind = strcmp(argv[3], "sim") == 0 ? SIM : strcmp(argv[3], "uleds") == 0 ? ULEDS : DEBUGFS;
	daemon_argv[0] = lamp_argv[0] = show_argv[0] = (char *)mtest;
	daemon_argv[3] = lamp_argv[3] = show_argv[3] = (char *)board;
	for (r = 0; r < 3; r++)
		tr[r].level = -1;
	if (kind == ULEDS)
		make_uleds();
	mkdir(STATE, 0755);
	printf("led_hwtest: %s on %s (%s)\n", mtest, board, argv[3]);
	d = fault ? spawn_ignoring_sigterm(daemon_argv) : spawn(daemon_argv);
	check(NONE, "no run yet");
	if (fault)
		goto sigterm;
	write_state("done", 0, "pass");
	check(PASS, "a run passed");
	lock = open(STATE "/lock", O_RDWR | O_CREAT, 0644);
	if (lock < 0 || lockf(lock, F_LOCK, 0) < 0) {	/* as a run does while it runs */
		perror("locking " STATE "/lock");
		exit(2);
	}
	write_state("running", -1, "running");
	check(RUNNING, "a run in progress");
	close(lock);		/* the run dies without a word */
	check(INCOMPLETE, "the run died");
	write_state("done", 0, "quarantined");
	check(QUARANTINED, "quarantined failed");
	write_state("done", 1, "failures");
	check(FAILURES, "tests failed");
	write_state("done", 1, "hangs");
	check(HANGS, "tests hung");
	write_state("interrupted", 2, "incomplete");
	check(INCOMPLETE, "interrupted");
	write_state("done", 4, "fault");
	check(FAULT, "mtest could not work");
	write_state("done", 0, NULL);
	check(PASS, "older state.json");

	/* The state directory deleted: the fault code within a second. */
	write_state("done", 1, "failures");
	nap_ms(500);
	reset();
	t0 = now_us();
	run((char *[]){ "/bin/rm", "-rf", STATE, NULL });
	sample(t0 + 2500000);
	first = tr[0].n >= 3 ? tr[0].t[2] - t0 : -1;	/* fast blink under way */
	/* Within a second (inotify, or the daemon's look each second), and a
	 * second more for a loaded host or an emulated guest: a bound. */
	say(first >= 0 && first < 2000000, "%-12s %-26s fast blink %.2f s after",
	    "fault", "state directory deleted", first / 1e6);
	mkdir(STATE, 0755);
	write_state("done", 1, "hangs");
	check(HANGS, "state directory back");
	kill(d, SIGHUP);
	check(HANGS, "after SIGHUP");
	say(waitpid(d, &st, WNOHANG) == 0, "%-12s %-26s", "daemon", "alive after SIGHUP");

	/* Asked of the daemon: a lamp test, a code for a while. */
	r = run(lamp_argv);
	reset();
	sample(now_us() + 1500000);
	say(r == 0 && level_of(0) == 1 && level_of(1) == 1 && level_of(2) == 1,
	    "%-12s %-26s status %d ok %d alarm %d", "lamp", "asked of the daemon", level_of(0),
	    level_of(1), level_of(2));
	nap_ms(2000);
	write_state("done", 0, "pass");
	r = run(show_argv);
	check(HANGS, "--show asked of the daemon");

sigterm:
	kill(d, SIGTERM);
	r = wait_bounded(d, WAIT_S);
	if (r == -2)
		say(0, "%-12s %-26s did not exit within %d s of SIGTERM (killed)", "daemon",
		    "SIGTERM", WAIT_S);
	else
		say(r == 0, "%-12s %-26s exit %d", "daemon", "SIGTERM", r);
	if (kind == SIM) {
		/* Let go: gpio-sim puts released lines back to their pull (0). */
		reset();
		tr[0].level = tr[1].level = tr[2].level = -1;
		sample(now_us() + 200000);
		say(level_of(0) == 0 && level_of(1) == 0 && level_of(2) == 0,
		    "%-12s %-26s %d %d %d", "released", "lines back to the pull", level_of(0),
		    level_of(1), level_of(2));
	}
	printf("led_hwtest: %s\n", failed ? "FAIL" : "PASS");
	return failed ? 1 : 0;
}
