/* kmsg_hwtest: mtest's reader of the kernel's log, its taint decoding and
 * its markers (src/base/kmsg.c) against a real kernel that is ours to
 * harm: make check-hw boots it as root in a throw-away qemu guest
 * (tools/qemu-gpio-x86). On the machine that builds mtest the kernel is not
 * ours: tainting it, or running it out of memory, is not done there.
 *
 * Each check a line, "ok   ..." or "FAIL ...": a warning line written as a
 * test's stand-in is read back from the cursor and classified; the taint a
 * "test" brings (W, requested through /proc/sys/kernel/tainted) is named
 * and decoded; a child that runs the guest out of memory is the OOM
 * killer's victim by the kernel's own line; the kernel's rate limit for
 * /dev/kmsg is the one mtest's markers keep within (10 lines in 5 s: the
 * 11th to 15th written are dropped by the kernel, and the markers never
 * write one the kernel drops). Exit 0 when all pass, 1 if one fails. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mtest/base/kmsg.h"

static struct mt_kmsg K;
static int failed;

static void check(int ok, const char *what, const char *got)
{
	printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, got ? ": " : "", got ? got : "");
	fflush(stdout);
	failed |= !ok;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		printf("(writing %s: %s)\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Lines of the last drain that contain `what`. */
static int count(const char *what)
{
	const char *p = K.text;
	int n = 0;

	while ((p = strstr(p, what))) {
		n++;
		p += strlen(what);
	}
	return n;
}

static void warning_line(void)
{
	char line[160];

	mt_kmsg_next(&K);
	snprintf(line, sizeof line, "<4>WARNING: CPU: 0 PID: %d at kmsg_hwtest.c:1 stand-in\n",
		 (int)getpid());
	put(MT_KMSG_PATH, line);
	mt_kmsg_drain(&K);
	check(count("user.warn: WARNING: CPU: 0 PID: ") == 1, "a warning line is read back",
	      K.worst_line);
	check(K.worst == MT_KMSG_WARNING, "classified as a warning",
	      mt_kmsg_kind_name(K.worst));
}

static void taint(void)
{
	unsigned long before = 0, after = 0;
	char text[256];

	check(mt_kmsg_taint_read(MT_TAINT_PATH, &before), "the taint flags read", NULL);
	put(MT_TAINT_PATH, "512");	/* W, as a warning would */
	check(mt_kmsg_taint_read(MT_TAINT_PATH, &after), "read again", NULL);
	mt_kmsg_taint_text(after & ~before, text, sizeof text);
	check(strcmp(text, "W (kernel issued a warning)") == 0, "the flag brought, decoded", text);
	mt_kmsg_taint_letters(after, text, sizeof text);
	check(strchr(text, 'W') != NULL, "the kernel's letters", text);
}

static void oom(void)
{
	char want[64];
	pid_t child;
	int st = 0;

	mt_kmsg_next(&K);
	child = fork();
	if (child == 0) {
		/* Until the OOM killer ends it: there is no swap here. */
		for (;;) {
			char *p = malloc(1 << 20);

			if (!p)
				_exit(3);
			memset(p, 1, 1 << 20);
		}
	}
	waitpid(child, &st, 0);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the child was killed (SIGKILL)", NULL);
	mt_kmsg_drain(&K);
	snprintf(want, sizeof want, "Killed process %d (", (int)child);
	check(mt_kmsg_killed(&K, child), "the OOM killer named it, in the kernel's line",
	      K.oom_line);
	check(strstr(K.oom_line, want) != NULL, "the victim's line kept", NULL);
	check(K.worst >= MT_KMSG_OOM, "classified oom (or worse)", mt_kmsg_kind_name(K.worst));
}

/* The kernel's limit on one writer, and mtest's markers within it. */
static void ratelimit(void)
{
	char mode[32] = "", line[64], why[256];
	struct mt_kmsg_marks m;
	int fd, i, n;
	FILE *f = fopen(MT_DEVKMSG_SYSCTL, "r");

	if (f) {
		if (!fgets(mode, sizeof mode, f))
			mode[0] = '\0';
		fclose(f);
	}
	printf("(kernel.printk_devkmsg: %s)\n", mode[0] ? strtok(mode, "\n") : "none");
	if (strcmp(mode, "ratelimit") != 0) {
		check(1, "no rate limit to check here", NULL);
		return;
	}
	mt_kmsg_next(&K);
	fd = open(MT_KMSG_PATH, O_WRONLY | O_CLOEXEC);
	for (i = 0; i < MT_KMSG_BURST + 5; i++) {
		n = snprintf(line, sizeof line, "<6>kmsg_hwtest burst line %d\n", i);
		if (write(fd, line, (size_t)n) != n)
			printf("(write: %s)\n", strerror(errno));
	}
	close(fd);
	mt_kmsg_drain(&K);
	snprintf(line, sizeof line, "%d", count("kmsg_hwtest burst line "));
	check(count("kmsg_hwtest burst line ") == MT_KMSG_BURST,
	      "the kernel takes MT_KMSG_BURST lines from one writer, drops the rest", line);

	i = mt_kmsg_marks_open(&m, MT_KMSG_PATH, MT_DEVKMSG_SYSCTL, why, sizeof why);
	check(i && m.limited, "markers, within the kernel's limit", i ? NULL : why);
	for (i = n = 0; i < MT_KMSG_BURST + 5; i++)
		n += mt_kmsg_mark(&m, now_us(), 0, "kmsg_hwtest marker %d", i);
	mt_kmsg_marks_close(&m);
	snprintf(line, sizeof line, "%d written, %llu skipped", n,
		 (unsigned long long)m.skipped_total);
	check(n == MT_KMSG_BURST && m.skipped_total == 5, "the markers keep within it", line);
	/* The reader leaves markers out: read them raw, as dmesg would. */
	{
		struct mt_kmsg raw;
		char rec[8192];
		ssize_t r;
		int seen = 0;

		mt_kmsg_open(&raw, MT_KMSG_PATH);	/* from the log's start */
		while ((r = read(raw.fd, rec, sizeof rec - 1)) > 0 || (r < 0 && errno == EPIPE)) {
			if (r <= 0)
				continue;
			rec[r] = '\0';
			seen += strstr(rec, "]: kmsg_hwtest marker ") != NULL;
		}
		mt_kmsg_close(&raw);
		snprintf(line, sizeof line, "%d", seen);
		check(seen == MT_KMSG_BURST, "every marker written is in the kernel's log", line);
	}
}

int main(void)
{
	if (!mt_kmsg_open(&K, MT_KMSG_PATH)) {
		printf("FAIL cannot open %s: %s\n", MT_KMSG_PATH, strerror(errno));
		return 1;
	}
	mt_kmsg_cursor(&K);
	warning_line();
	taint();
	oom();
	ratelimit();
	mt_kmsg_close(&K);
	printf("kmsg_hwtest: %s\n", failed ? "FAIL" : "PASS");
	return failed;
}
