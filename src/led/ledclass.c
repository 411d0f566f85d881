/* mtest: kernel LED class devices (/sys/class/leds/NAME), for boards whose
 * device tree declares gpio-leds. A rhythm goes to the kernel's pattern
 * trigger when it has one, so that blinking goes on without mtest. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "mtest/base/buf.h"
#include "mtest/base/fsx.h"

#define LEDS_DIR "/sys/class/leds"

static int write_attr(const struct mt_led *l, const char *attr, const char *text)
{
	char path[MT_BOARD_NAME_MAX + 48];
	int fd, ok;

	snprintf(path, sizeof path, "%s/%s", l->sys, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/* "have: a, b, c" for the message, at most a few. */
static void have(char *out, size_t cap)
{
	struct mt_buf b;
	struct dirent *e;
	DIR *d = opendir(LEDS_DIR);
	int n = 0;

	mt_buf_init(&b, out, cap, -1);
	if (!d) {
		mt_buf_puts(&b, "no " LEDS_DIR " here");
		return;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			mt_buf_printf(&b, "%s%s", n++ ? ", " : "have: ", e->d_name);
	closedir(d);
	if (!n)
		mt_buf_puts(&b, LEDS_DIR " is empty");
	mt_buf_str(&b);
}

int mt_ledclass_open(struct mt_led *l, const struct mt_board_led *bl, char *err, size_t cap)
{
	char path[MT_BOARD_NAME_MAX + 48], text[32], list[200];
	ssize_t n;

	snprintf(l->sys, sizeof l->sys, LEDS_DIR "/%s", bl->led);
	snprintf(l->what, sizeof l->what, "LED %s", bl->led);
	snprintf(path, sizeof path, "%s/max_brightness", l->sys);
	n = mt_read_file(path, text, sizeof text - 1);
	if (n <= 0) {
		have(list, sizeof list);
		snprintf(err, cap, "led: no LED class device %s (%s)", bl->led, list);
		return 0;
	}
	text[n] = '\0';
	l->max = atoi(text);
	if (l->max < 1)
		l->max = 1;
	snprintf(path, sizeof path, "%s/brightness", l->sys);
	l->fd = open(path, O_WRONLY | O_CLOEXEC);
	if (l->fd < 0) {
		snprintf(err, cap, "led: %s: %s", path, strerror(errno));
		return 0;
	}
	/* Ours now: a trigger left by a daemon that died, or by the device
	 * tree's default, would blink over what we show. */
	mt_ledclass_steady(l);
	return 1;
}

int mt_ledclass_set(struct mt_led *l, int on)
{
	char text[16];
	int n = snprintf(text, sizeof text, "%d", on ? l->max : 0);

	return pwrite(l->fd, text, (size_t)n, 0) == n;
}

int mt_ledclass_rhythm(struct mt_led *l, const struct mt_led_step *s, int n)
{
	char text[512];
	struct mt_buf b;
	int i;

	if (!write_attr(l, "trigger", "pattern"))
		return 0;	/* no ledtrig-pattern: mtest keeps the time */
	/* "brightness ms brightness 0" per step: hold, then jump. */
	mt_buf_init(&b, text, sizeof text, -1);
	for (i = 0; i < n; i++)
		mt_buf_printf(&b, "%s%d %u %d 0", i ? " " : "", s[i].on ? l->max : 0, s[i].ms,
			      s[i].on ? l->max : 0);
	if (!write_attr(l, "pattern", mt_buf_str(&b))) {
		write_attr(l, "trigger", "none");
		return 0;
	}
	return 1;
}

void mt_ledclass_steady(struct mt_led *l)
{
	write_attr(l, "trigger", "none");
}

void mt_ledclass_close(struct mt_led *l)
{
	if (l->fd >= 0) {
		if (l->kernel)
			mt_ledclass_steady(l);
		mt_ledclass_set(l, 0);
		close(l->fd);
	}
	l->fd = -1;
}
