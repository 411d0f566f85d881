/* libFuzzer target: a request on the LED daemon's channel (led/request.c).
 * The input is one datagram's bytes, as mt_led_chan_recv hands them over
 * (at most MT_LED_REQUEST_MAX + 1, in a buffer of exactly that size). A
 * request that parses must be in range, format back, and the formatted
 * text must parse to the same request; the canonical text must be the
 * input itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtest/led/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size < MT_LED_REQUEST_MAX + 1 ? size : MT_LED_REQUEST_MAX + 1;
	char *msg = malloc(n ? n : 1), text[MT_LED_REQUEST_MAX + 1];
	struct mt_led_request r, again;
	size_t len;

	if (!msg)
		abort();
	memcpy(msg, data, n);
	if (mt_led_request_parse(msg, n, &r)) {
		if (r.code >= MT_LED_COUNT || r.secs < 1 || r.secs > MT_LED_SHOW_MAX_SECS)
			abort();
		len = mt_led_request_format(&r, text, sizeof text);
		if (!len || !mt_led_request_parse(text, len, &again) ||
		    again.code != r.code || again.secs != r.secs || again.lamp_test != r.lamp_test)
			abort();
		/* Leading zeros aside ("show pass 010"), the text is the input. */
		if ((len != n || memcmp(text, msg, n) != 0) && !memchr(msg, '0', n))
			abort();
	}
	free(msg);
	return 0;
}
