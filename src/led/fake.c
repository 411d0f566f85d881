/* mtest: the fake GPIO chip "mtest-fake" for tests (include/mtest/led/leds.h):
 * lines LED0..LED6, and BUSY7, which "another process" holds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"

#define FAKE_LINES 8

int mt_fake_open(struct mt_led *l, const struct mt_board_led *bl, int *busy, char *err,
		 size_t cap)
{
	const char *log = getenv("MTEST_LED_FAKE_LOG");
	int off = bl->line;

	if (bl->line_name[0]) {
		if (strncmp(bl->line_name, "LED", 3) == 0 && bl->line_name[3] >= '0' &&
		    bl->line_name[3] <= '6' && !bl->line_name[4])
			off = bl->line_name[3] - '0';
		else if (strcmp(bl->line_name, "BUSY7") == 0)
			off = 7;
		else {
			snprintf(err, cap, "line: chip %s has no line named '%s'", MT_FAKE_CHIP,
				 bl->line_name);
			return 0;
		}
	}
	if (off >= FAKE_LINES) {
		snprintf(err, cap, "line: chip %s has %d lines (0 to %d), no line %d",
			 MT_FAKE_CHIP, FAKE_LINES, FAKE_LINES - 1, off);
		return 0;
	}
	if (off == 7) {
		*busy = 1;
		snprintf(err, cap, "line: line 7 of %s is used by 'other' (another process holds "
			 "it)", MT_FAKE_CHIP);
		return 0;
	}
	l->offset = (unsigned)off;
	snprintf(l->what, sizeof l->what, "line %d of %s", off, MT_FAKE_CHIP);
	l->fd = -1;
	if (log && *log) {
		l->fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (l->fd < 0) {
			snprintf(err, cap, "chip: %s: %s", log, strerror(errno));
			return 0;
		}
	}
	return 1;
}

int mt_fake_set(struct mt_led *l, int on, int64_t due)
{
	char line[96];
	int n;

	if (l->fd < 0)
		return 1;
	n = snprintf(line, sizeof line, "%lld %s %u %d %lld\n", (long long)mt_now_us(),
		     mt_led_role_name(l->role), l->offset, on, (long long)due);
	return mt_write_all(l->fd, line, (size_t)n);	/* one write: lines never mix */
}

void mt_fake_close(struct mt_led *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
