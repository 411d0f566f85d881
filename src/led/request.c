/* mtest led: requests on the LED daemon's channel (include/mtest/led/request.h). */
#include "mtest/led/request.h"

#include <stdio.h>
#include <string.h>

#define LAMP_SECS 3

/* A code's name from a run of bytes: exact, at most 31 of them. */
static enum mt_led_code code_of(const char *p, size_t n)
{
	char name[32];

	if (n == 0 || n >= sizeof name || memchr(p, '\0', n))
		return MT_LED_COUNT;
	memcpy(name, p, n);
	name[n] = '\0';
	return mt_led_code_named(name);
}

int mt_led_request_parse(const char *msg, size_t n, struct mt_led_request *r)
{
	const char *sp;
	size_t k;
	unsigned secs = 0;

	r->lamp_test = 0;
	if (n == 4 && memcmp(msg, "lamp", 4) == 0) {
		r->lamp_test = 1;
		r->code = MT_LED_LAMP;
		r->secs = LAMP_SECS;
		return 1;
	}
	if (n < 5 || n > MT_LED_REQUEST_MAX || memcmp(msg, "show ", 5) != 0)
		return 0;
	msg += 5;
	n -= 5;
	sp = memchr(msg, ' ', n);
	if (!sp || (r->code = code_of(msg, (size_t)(sp - msg))) == MT_LED_COUNT)
		return 0;
	k = (size_t)(sp - msg) + 1;
	if (k == n || n - k > 4)
		return 0;	/* no SECS, or more digits than 3600 has */
	for (; k < n; k++) {
		if (msg[k] < '0' || msg[k] > '9')
			return 0;
		secs = secs * 10 + (unsigned)(msg[k] - '0');
	}
	if (secs < 1 || secs > MT_LED_SHOW_MAX_SECS)
		return 0;
	r->secs = secs;
	return 1;
}

size_t mt_led_request_format(const struct mt_led_request *r, char *out, size_t cap)
{
	int n;

	if (r->lamp_test)
		n = snprintf(out, cap, "lamp");
	else if (r->code >= MT_LED_COUNT || r->secs < 1 || r->secs > MT_LED_SHOW_MAX_SECS)
		return 0;
	else
		n = snprintf(out, cap, "show %s %u", mt_led_look(r->code)->name, r->secs);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
