/* mtest: the LED codes a field engineer reads across a room (docs/leds.md
 * holds the same table; a unit test keeps the two equal).
 *
 * Every code shows on the one LED every board has (role "status") by its
 * rhythm alone: solid, slow blink, fast blink, or 1 to 4 flashes and a
 * pause, so that neither colour nor a second LED is needed. Boards with an
 * "ok" and an "alarm" LED light them as well. */
#ifndef MTEST_LED_CODES_H
#define MTEST_LED_CODES_H

#include <stdint.h>

#define MT_LED_STEPS_MAX 10

enum mt_led_code {
	MT_LED_NONE = 0,	/* the daemon runs; no run yet */
	MT_LED_PASS,		/* idle; the last run passed */
	MT_LED_RUNNING,		/* a run is in progress */
	MT_LED_QUARANTINED,	/* idle; only quarantined tests failed */
	MT_LED_FAILURES,	/* idle; tests failed */
	MT_LED_HANGS,		/* idle; tests hung or crashed */
	MT_LED_INCOMPLETE,	/* the last run did not tell every verdict */
	MT_LED_FAULT,		/* mtest cannot work */
	MT_LED_LAMP,		/* lamp test: everything on */
	MT_LED_COUNT
};

enum mt_led_role { MT_ROLE_STATUS = 0, MT_ROLE_OK, MT_ROLE_ALARM, MT_ROLE_COUNT };

/* One step of a rhythm: a level held for ms. A rhythm loops; one step
 * alone is a steady level. */
struct mt_led_step {
	uint16_t ms;
	uint8_t on;
};

struct mt_led_look {
	const char *name;		/* as --show takes it, and state.json says */
	const char *rhythm;		/* how it looks: "solid", "2 flashes" */
	const char *meaning;
	uint8_t ok, alarm;		/* 0 off, 1 on, 2 with the status LED */
	uint8_t nsteps;
	struct mt_led_step step[MT_LED_STEPS_MAX];
};

const struct mt_led_look *mt_led_look(enum mt_led_code c);
/* The code of a name ("failures"), or MT_LED_COUNT. */
enum mt_led_code mt_led_code_named(const char *name);
const char *mt_led_role_name(enum mt_led_role r);
/* The role of a name, or MT_ROLE_COUNT. */
enum mt_led_role mt_led_role_named(const char *name);
/* What a run's end shows: from its exit code and counts. */
enum mt_led_code mt_led_code_of_end(int exit_code, uint32_t hung, uint32_t crashed,
				    uint32_t quarantined_bad);

#endif
