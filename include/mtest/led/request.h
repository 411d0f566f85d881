/* mtest led: what the LED daemon's control channel carries (docs/leds.md).
 *
 * A request is one datagram: "lamp" (every LED on for 3 s) or
 * "show CODE SECS" (a code from the table, for 1 to 3600 s), nothing
 * else: no NUL, no trailing space or newline, SECS plain digits. The
 * daemon answers "ok", "refused: <why>" or "bad request". */
#ifndef MTEST_LED_REQUEST_H
#define MTEST_LED_REQUEST_H

#include <stddef.h>

#include "mtest/led/codes.h"

#define MT_LED_REQUEST_MAX 64		/* bytes of a request or an answer */
#define MT_LED_SHOW_MAX_SECS 3600

struct mt_led_request {
	int lamp_test;			/* "lamp" */
	enum mt_led_code code;		/* what to show (MT_LED_LAMP for "lamp") */
	unsigned secs;			/* for how long (3 for "lamp") */
};

/* Parse n bytes (not NUL-terminated). Returns 1, or 0 if they are not a
 * request. */
int mt_led_request_parse(const char *msg, size_t n, struct mt_led_request *r);
/* The request's text into out (NUL-terminated); its length, or 0 if it
 * is not one that parses (or cap is too small). */
size_t mt_led_request_format(const struct mt_led_request *r, char *out, size_t cap);

#endif
