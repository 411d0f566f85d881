/* mtest: board files (board/NAME.json, docs/leds.md): where a box's LEDs are,
 * and its defaults.
 *
 *   {"board": "rpi4", "description": "...",
 *    "leds": [{"role": "status", "chip": "pinctrl-bcm2711", "line": "GPIO17"},
 *             {"role": "alarm", "chip": "/dev/gpiochip0", "line": 27,
 *              "active_low": true},
 *             {"role": "ok", "led": "ACT"}],
 *    "defaults": {"state_dir": "/var/lib/mtest", "suite": "/opt/retrowaves/tests",
 *                 "python": "/usr/bin/python3", "timeout": "60", "budget": "90m"},
 *    "timeout_scale": 3,
 *    "limits": {"memory_max": "1G", "lane_memory_max": "512M", "cpu_weight": 20}}
 *
 * An LED is a GPIO line (a chip by label, path or name; a line by offset
 * or name) or a kernel LED class device (/sys/class/leds/NAME). */
#ifndef MTEST_BOARD_H
#define MTEST_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "mtest/led/codes.h"
#include "mtest/limits.h"

struct mt_board_led {
	enum mt_led_role role;
	char chip[MT_BOARD_NAME_MAX];	/* label, /dev path or gpiochipN; "" for a led */
	char line_name[MT_BOARD_NAME_MAX];	/* "" when given by offset */
	int line;			/* offset, or -1 */
	char led[MT_BOARD_NAME_MAX];	/* LED class device, or "" */
	int active_low;
};

struct mt_board {
	char path[MT_PATH_MAX];		/* the file read */
	char name[MT_BOARD_NAME_MAX];
	int nleds;
	struct mt_board_led leds[MT_LEDS_MAX];
	/* Defaults for a run on this box ("" when not given). */
	char state_dir[MT_PATH_MAX];
	char suite[MT_PATH_MAX];
	char python[MT_PATH_MAX];
	char timeout[32];
	char budget[32];
	char timeout_scale[32];		/* a number ("3", "2.5"); "" when not given */
	/* "limits": memory_max, memory_high, lane_memory_max, lane_memory_high
	 * as written ("512M"; "" when not given), and the weights (0: none). */
	char limit[4][32];
	int cpu_weight, io_weight;
};

/* Find NAME (NAME.json in MTEST_BOARD_DIR, the installed boards in
 * BIN/../share/mtest/board, then the source tree's BIN/../board) or take
 * PATH (with a '/' or ending in .json). Returns 1, or 0 with a one-line
 * message in err. */
int mt_board_find(const char *name_or_path, char *path, size_t cap, char *err, size_t errcap);
/* Parse a board file's text; path names it in messages. Returns 1, or 0
 * with one line naming the file, the field and the problem in err. */
int mt_board_parse(struct mt_board *b, const char *text, size_t n, const char *path,
		   char *err, size_t errcap);
/* Read and parse. */
int mt_board_load(struct mt_board *b, const char *path, char *err, size_t errcap);

#endif
