/* libFuzzer target: the board file reader (led/board.c). The input is the
 * file's bytes, as mt_board_load takes them: at most MT_BOARD_BYTES,
 * NUL-terminated, in a buffer of exactly that size. A board that parses
 * must keep the promises of board.h (a name, 1 to MT_LEDS_MAX LEDs, one
 * status LED, each a chip and a line or a led, every string terminated
 * and non-empty where it is set); one that does not must say why in one
 * line that names the file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtest/led/board.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mt_board B;

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static void check(const struct mt_board *b)
{
	int k, status = 0;

	if (!terminated(b->name, sizeof b->name) || !b->name[0] || b->nleds < 1 ||
	    b->nleds > MT_LEDS_MAX || !terminated(b->state_dir, sizeof b->state_dir) ||
	    !terminated(b->suite, sizeof b->suite) || !terminated(b->python, sizeof b->python) ||
	    !terminated(b->timeout, sizeof b->timeout) || !terminated(b->budget, sizeof b->budget))
		abort();
	for (k = 0; k < b->nleds; k++) {
		const struct mt_board_led *l = &b->leds[k];

		if (l->role >= MT_ROLE_COUNT || !terminated(l->chip, sizeof l->chip) ||
		    !terminated(l->line_name, sizeof l->line_name) ||
		    !terminated(l->led, sizeof l->led) || !l->chip[0] == !l->led[0] ||
		    (l->chip[0] && l->line < 0 && !l->line_name[0]) || l->line > 1023 ||
		    (l->led[0] && (strchr(l->led, '/') || l->led[0] == '.')))
			abort();
		status += l->role == MT_ROLE_STATUS;
	}
	if (status != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char path[] = "/usr/share/mtest/board/fuzz.json";
	size_t n = size < MT_BOARD_BYTES ? size : MT_BOARD_BYTES;
	char *text = malloc(n + 1), err[1024];

	if (!text)
		abort();
	memcpy(text, data, n);
	text[n] = '\0';
	err[0] = '\0';
	if (mt_board_parse(&B, text, n, path, err, sizeof err))
		check(&B);
	else if (strncmp(err, path, sizeof path - 1) != 0 || strchr(err, '\n') ||
		 !terminated(err, sizeof err))
		abort();
	free(text);
	return 0;
}
