/* mtest: the LED codes (include/mtest/led/codes.h). */
#include "mtest/led/codes.h"

#include <string.h>

/* Flashes: 250 ms on, 250 ms off, and 1.5 s dark after the last one. */
#define FLASH { 250, 1 }, { 250, 0 }
#define PAUSE { 250, 1 }, { 1500, 0 }

static const struct mt_led_look looks[MT_LED_COUNT] = {
	[MT_LED_NONE] = { "none", "a 50 ms blip every 3 s", "the LED daemon runs; no run yet",
			  0, 0, 2, { { 50, 1 }, { 2950, 0 } } },
	[MT_LED_PASS] = { "pass", "solid", "idle; the last run passed", 1, 0, 1, { { 1000, 1 } } },
	[MT_LED_RUNNING] = { "running", "slow blink (1 s on, 1 s off)", "a run is in progress",
			     0, 0, 2, { { 1000, 1 }, { 1000, 0 } } },
	[MT_LED_QUARANTINED] = { "quarantined", "1 flash, pause",
				 "idle; only tests in quarantine failed", 1, 0, 2, { PAUSE } },
	[MT_LED_FAILURES] = { "failures", "2 flashes, pause", "idle; tests failed", 0, 1, 4,
			      { FLASH, PAUSE } },
	[MT_LED_HANGS] = { "hangs", "3 flashes, pause", "idle; tests hung or crashed", 0, 1, 6,
			   { FLASH, FLASH, PAUSE } },
	[MT_LED_INCOMPLETE] = { "incomplete", "4 flashes, pause",
				"the last run did not tell every verdict (interrupted, died, "
				"stopped short, or nothing collected)", 0, 1, 8,
				{ FLASH, FLASH, FLASH, PAUSE } },
	[MT_LED_FAULT] = { "fault", "fast blink (100 ms on, 100 ms off)",
			   "mtest cannot work: state directory missing or damaged, no pytest, "
			   "bad board or config", 0, 2, 2, { { 100, 1 }, { 100, 0 } } },
	[MT_LED_LAMP] = { "lamp", "solid, every LED", "lamp test", 1, 1, 1, { { 1000, 1 } } },
};

static const char *const roles[MT_ROLE_COUNT] = { "status", "ok", "alarm" };

const struct mt_led_look *mt_led_look(enum mt_led_code c)
{
	return &looks[c < MT_LED_COUNT ? c : MT_LED_FAULT];
}

enum mt_led_code mt_led_code_named(const char *name)
{
	int c;

	for (c = 0; c < MT_LED_COUNT; c++)
		if (strcmp(looks[c].name, name) == 0)
			return (enum mt_led_code)c;
	return MT_LED_COUNT;
}

const char *mt_led_role_name(enum mt_led_role r)
{
	return r < MT_ROLE_COUNT ? roles[r] : "?";
}

enum mt_led_role mt_led_role_named(const char *name)
{
	int r;

	for (r = 0; r < MT_ROLE_COUNT; r++)
		if (strcmp(roles[r], name) == 0)
			return (enum mt_led_role)r;
	return MT_ROLE_COUNT;
}

enum mt_led_code mt_led_code_of_end(int exit_code, uint32_t hung, uint32_t crashed,
				    uint32_t quarantined_bad)
{
	switch (exit_code) {
	case 0: return quarantined_bad ? MT_LED_QUARANTINED : MT_LED_PASS;
	case 1: return hung || crashed ? MT_LED_HANGS : MT_LED_FAILURES;
	case 2: case 5: case 6: return MT_LED_INCOMPLETE;
	default: return MT_LED_FAULT;	/* 3 internal, 4 usage, 7 busy */
	}
}
