/* mtest: LEDs on GPIO lines through libgpiod: v1 (Debian 12, Raspberry Pi
 * OS bookworm) or v2 (Debian 13, bookworm-backports), chosen at build time
 * (MT_GPIOD_V2, from pkg-config). A chip is named by its label
 * ("pinctrl-bcm2711"), its path (/dev/gpiochip0) or its name (gpiochip0);
 * a line by its offset or its name ("GPIO17"). A line reverts when its
 * holder exits: the LED daemon holds them for as long as the box is up. */
#include <dirent.h>
#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "mtest/base/buf.h"

static int is_name(const char *s)
{
	return strncmp(s, "gpiochip", 8) == 0 && s[8] && strspn(s + 8, "0123456789") == strlen(s + 8);
}

/* The chips here, for a message: "gpiochip0 'pinctrl-bcm2711', ...". */
static void chips(char *out, size_t cap);

#ifdef MT_GPIOD_V2
/* ---- libgpiod v2 ----------------------------------------------------------- */

static struct gpiod_chip *open_path_label(const char *path, char *label, size_t cap)
{
	struct gpiod_chip *c = gpiod_chip_open(path);
	struct gpiod_chip_info *info;

	if (!c)
		return NULL;
	info = gpiod_chip_get_info(c);
	if (!info) {
		gpiod_chip_close(c);
		return NULL;
	}
	snprintf(label, cap, "%s", gpiod_chip_info_get_label(info));
	gpiod_chip_info_free(info);
	return c;
}

static struct gpiod_chip *open_chip(const char *chip)
{
	char path[MT_BOARD_NAME_MAX + 16], label[128];
	struct gpiod_chip *c;
	struct dirent *e;
	DIR *d;

	if (chip[0] == '/')
		return gpiod_chip_open(chip);
	if (is_name(chip)) {
		snprintf(path, sizeof path, "/dev/%s", chip);
		return gpiod_chip_open(path);
	}
	/* By label: v2 opens chips by path only; look at each. */
	if (!(d = opendir("/dev")))
		return NULL;
	while ((e = readdir(d))) {
		if (!is_name(e->d_name))
			continue;
		snprintf(path, sizeof path, "/dev/%s", e->d_name);
		c = open_path_label(path, label, sizeof label);
		if (c && strcmp(label, chip) == 0) {
			closedir(d);
			return c;
		}
		if (c)
			gpiod_chip_close(c);
	}
	closedir(d);
	errno = ENODEV;
	return NULL;
}

static void chips(char *out, size_t cap)
{
	char path[300], label[128];
	struct gpiod_chip *c;
	struct dirent *e;
	struct mt_buf b;
	DIR *d = opendir("/dev");
	int n = 0;

	mt_buf_init(&b, out, cap, -1);
	while (d && (e = readdir(d))) {
		if (!is_name(e->d_name))
			continue;
		snprintf(path, sizeof path, "/dev/%s", e->d_name);
		if ((c = open_path_label(path, label, sizeof label))) {
			mt_buf_printf(&b, "%s%s '%s'", n++ ? ", " : "chips here: ", e->d_name, label);
			gpiod_chip_close(c);
		}
	}
	if (d)
		closedir(d);
	if (!n)
		mt_buf_puts(&b, "no GPIO chips here");
	mt_buf_str(&b);
}

int mt_gpio_open(struct mt_led *l, const struct mt_board_led *bl, const char *consumer,
		 int *busy, char *err, size_t cap)
{
	struct gpiod_chip *c;
	struct gpiod_chip_info *ci;
	struct gpiod_line_info *li;
	struct gpiod_line_settings *ls = NULL;
	struct gpiod_line_config *lc = NULL;
	struct gpiod_request_config *rc = NULL;
	struct gpiod_line_request *req = NULL;
	char list[256];
	unsigned nlines;
	int off = bl->line;

	if (!(c = open_chip(bl->chip))) {
		chips(list, sizeof list);
		snprintf(err, cap, "chip: no GPIO chip %s '%s' (%s)", bl->chip[0] == '/' ? "at" :
			 is_name(bl->chip) ? "named" : "labelled", bl->chip, list);
		return 0;
	}
	ci = gpiod_chip_get_info(c);
	nlines = ci ? (unsigned)gpiod_chip_info_get_num_lines(ci) : 0;
	if (ci)
		gpiod_chip_info_free(ci);
	if (bl->line_name[0] && (off = gpiod_chip_get_line_offset_from_name(c, bl->line_name)) < 0) {
		snprintf(err, cap, "line: chip %s has no line named '%s'", bl->chip, bl->line_name);
		gpiod_chip_close(c);
		return 0;
	}
	if ((unsigned)off >= nlines) {
		snprintf(err, cap, "line: chip %s has %u lines (0 to %u), no line %d", bl->chip,
			 nlines, nlines ? nlines - 1 : 0, off);
		gpiod_chip_close(c);
		return 0;
	}
	l->offset = (unsigned)off;
	snprintf(l->what, sizeof l->what, "line %d of %s", off, bl->chip);
	ls = gpiod_line_settings_new();
	lc = gpiod_line_config_new();
	rc = gpiod_request_config_new();
	if (ls && lc && rc) {
		gpiod_line_settings_set_direction(ls, GPIOD_LINE_DIRECTION_OUTPUT);
		gpiod_line_settings_set_active_low(ls, bl->active_low);
		gpiod_line_settings_set_output_value(ls, GPIOD_LINE_VALUE_INACTIVE);
		gpiod_request_config_set_consumer(rc, consumer);
		if (gpiod_line_config_add_line_settings(lc, &l->offset, 1, ls) == 0)
			req = gpiod_chip_request_lines(c, rc, lc);
	}
	gpiod_line_settings_free(ls);
	gpiod_line_config_free(lc);
	gpiod_request_config_free(rc);
	if (!req) {
		int e = errno;

		li = gpiod_chip_get_line_info(c, l->offset);
		if (e == EBUSY || (li && gpiod_line_info_is_used(li))) {
			*busy = 1;
			snprintf(err, cap, "line: %s is used by '%s'", l->what,
				 li && gpiod_line_info_get_consumer(li) ?
				 gpiod_line_info_get_consumer(li) : "?");
		} else {
			snprintf(err, cap, "line: cannot drive %s: %s", l->what, strerror(e));
		}
		if (li)
			gpiod_line_info_free(li);
		gpiod_chip_close(c);
		return 0;
	}
	l->chip = c;
	l->line = req;
	return 1;
}

int mt_gpio_set(struct mt_led *l, int on)
{
	return gpiod_line_request_set_value(l->line, l->offset, on ? GPIOD_LINE_VALUE_ACTIVE :
					    GPIOD_LINE_VALUE_INACTIVE) == 0;
}

void mt_gpio_close(struct mt_led *l)
{
	if (l->line)
		gpiod_line_request_release(l->line);
	if (l->chip)
		gpiod_chip_close(l->chip);
	l->line = l->chip = NULL;
}

#else
/* ---- libgpiod v1 ----------------------------------------------------------- */

static struct gpiod_chip *open_chip(const char *chip)
{
	if (chip[0] == '/')
		return gpiod_chip_open(chip);
	if (is_name(chip))
		return gpiod_chip_open_by_name(chip);
	return gpiod_chip_open_by_label(chip);
}

static void chips(char *out, size_t cap)
{
	struct gpiod_chip_iter *it = gpiod_chip_iter_new();
	struct gpiod_chip *c;
	struct mt_buf b;
	int n = 0;

	mt_buf_init(&b, out, cap, -1);
	if (it) {
		gpiod_foreach_chip(it, c)
			mt_buf_printf(&b, "%s%s '%s'", n++ ? ", " : "chips here: ", gpiod_chip_name(c),
				      gpiod_chip_label(c));
		gpiod_chip_iter_free(it);
	}
	if (!n)
		mt_buf_puts(&b, "no GPIO chips here");
	mt_buf_str(&b);
}

int mt_gpio_open(struct mt_led *l, const struct mt_board_led *bl, const char *consumer,
		 int *busy, char *err, size_t cap)
{
	struct gpiod_chip *c;
	struct gpiod_line *line;
	char list[256];
	unsigned nlines;
	int off = bl->line, e;

	if (!(c = open_chip(bl->chip))) {
		chips(list, sizeof list);
		snprintf(err, cap, "chip: no GPIO chip %s '%s' (%s)", bl->chip[0] == '/' ? "at" :
			 is_name(bl->chip) ? "named" : "labelled", bl->chip, list);
		return 0;
	}
	nlines = gpiod_chip_num_lines(c);
	if (bl->line_name[0]) {
		line = gpiod_chip_find_line(c, bl->line_name);
		if (!line) {
			snprintf(err, cap, "line: chip %s has no line named '%s'", bl->chip,
				 bl->line_name);
			gpiod_chip_close(c);
			return 0;
		}
		off = (int)gpiod_line_offset(line);
	} else if ((unsigned)off >= nlines) {
		snprintf(err, cap, "line: chip %s has %u lines (0 to %u), no line %d", bl->chip,
			 nlines, nlines ? nlines - 1 : 0, off);
		gpiod_chip_close(c);
		return 0;
	} else if (!(line = gpiod_chip_get_line(c, (unsigned)off))) {
		snprintf(err, cap, "line: cannot get line %d of %s: %s", off, bl->chip,
			 strerror(errno));
		gpiod_chip_close(c);
		return 0;
	}
	l->offset = (unsigned)off;
	snprintf(l->what, sizeof l->what, "line %d of %s", off, bl->chip);
	if (gpiod_line_request_output_flags(line, consumer, bl->active_low ?
					    GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0, 0) < 0) {
		e = errno;
		if (e == EBUSY || (gpiod_line_update(line) == 0 && gpiod_line_is_used(line))) {
			*busy = 1;
			snprintf(err, cap, "line: %s is used by '%s'", l->what,
				 gpiod_line_consumer(line) ? gpiod_line_consumer(line) : "?");
		} else {
			snprintf(err, cap, "line: cannot drive %s: %s", l->what, strerror(e));
		}
		gpiod_chip_close(c);
		return 0;
	}
	l->chip = c;
	l->line = line;
	return 1;
}

int mt_gpio_set(struct mt_led *l, int on)
{
	return gpiod_line_set_value(l->line, on) == 0;
}

void mt_gpio_close(struct mt_led *l)
{
	if (l->line)
		gpiod_line_release(l->line);
	if (l->chip)
		gpiod_chip_close(l->chip);
	l->line = l->chip = NULL;
}
#endif
