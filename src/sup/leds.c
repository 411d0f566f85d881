/* mtest: a run's own LEDs. With a board (--board, MTEST_BOARD, the config)
 * and no LED daemon holding them, the run drives the LEDs for as long as
 * it runs (they revert when it exits; the daemon keeps them lit between
 * runs). With a daemon, the run leaves them alone: the daemon follows the
 * "led" field of state.json. */
#include "sup.h"

#include "mtest/led/daemon.h"

int sup_leds_open(struct sup *s)
{
	char err[1024], why[MT_PATH_MAX + 300];
	int busy;

	if (!s->o->board)
		return 1;
	if (mt_led_daemon_present(s->o->board, why, sizeof why))
		return 1;
	/* A squatter where the daemon's socket would be is named; the LEDs
	 * are still shown, by this run. */
	if (why[0])
		mt_msg("%s; this run drives the LEDs itself", why);
	if (mt_leds_open(&s->leds, s->o->board, "mtest", &busy, err, sizeof err))
		return 1;
	if (busy)
		return 1;	/* someone else shows them: fine */
	mt_msg("%s", err);
	return 0;
}

void sup_leds_show(struct sup *s, enum mt_led_code c)
{
	mt_leds_show(&s->leds, c, sup_now(s));
}
