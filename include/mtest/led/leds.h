/* mtest: a board's LEDs, opened and showing a code. One interface over
 * the backends: GPIO lines through libgpiod (v1 on Debian 12, v2 on Debian
 * 13, chosen at build time), kernel LED class devices (/sys/class/leds:
 * the kernel's pattern trigger blinks them, so a rhythm goes on if mtest
 * dies), and a fake chip for tests ("mtest-fake": 8 lines LED0..LED6 and
 * BUSY7, which someone else holds; each change is appended to
 * $MTEST_LED_FAKE_LOG as "<monotonic us> <role> <line> <0|1>").
 *
 * A rhythm is kept by the caller's clock: mt_leds_next_us() is when
 * mt_leds_tick() must run next (MT_NEVER when nothing changes by itself). */
#ifndef MTEST_LEDS_H
#define MTEST_LEDS_H

#include <stddef.h>
#include <stdint.h>

#include "mtest/led/board.h"
#include "mtest/led/codes.h"

enum mt_led_kind { MT_LED_GPIO = 0, MT_LED_CLASS, MT_LED_FAKE };

struct mt_led {
	enum mt_led_role role;
	enum mt_led_kind kind;
	int level;		/* the logical level shown, -1 unknown */
	void *chip;		/* libgpiod's chip */
	void *line;		/* v1: the line; v2: the request */
	unsigned offset;
	int fd;			/* LED class: brightness; fake: the log, or -1 */
	int max;		/* LED class: max_brightness */
	int kernel;		/* LED class: the kernel keeps the rhythm */
	char what[96];		/* for messages: "line 17 of pinctrl-bcm2711" */
	char sys[MT_BOARD_NAME_MAX + 24];	/* LED class: /sys/class/leds/NAME */
};

struct mt_leds {
	int n;
	struct mt_led led[MT_LEDS_MAX];
	enum mt_led_code code;
	int step;
	int64_t step_end_us;	/* MT_NEVER when steady */
};

/* Open every LED of the board as consumer. Returns 1; or 0 with one line
 * in err (the board file, the field, the problem), and *busy set when the
 * only problem is that another process holds a line. */
int mt_leds_open(struct mt_leds *ls, const struct mt_board *b, const char *consumer,
		 int *busy, char *err, size_t cap);
void mt_leds_show(struct mt_leds *ls, enum mt_led_code c, int64_t now);
void mt_leds_tick(struct mt_leds *ls, int64_t now);
int64_t mt_leds_next_us(const struct mt_leds *ls);
/* Release the lines (they fall back to what the hardware does alone). */
void mt_leds_close(struct mt_leds *ls);

#endif
