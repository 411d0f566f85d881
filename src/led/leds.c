/* mtest: a board's LEDs showing a code (include/mtest/led/leds.h). */
#include "mtest/led/leds.h"

#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "mtest/base/clock.h"

/* due: when the rhythm wants the change (the fake chip logs it, so that
 * tests check the rhythm itself, apart from how late a loaded machine ran
 * the daemon). */
static int set(struct mt_led *l, int on, int64_t due)
{
	if (l->level == on)
		return 1;
	l->level = on;
	switch (l->kind) {
	case MT_LED_GPIO: return mt_gpio_set(l, on);
	case MT_LED_CLASS: return mt_ledclass_set(l, on);
	default: return mt_fake_set(l, on, due);
	}
}

static void close_one(struct mt_led *l)
{
	switch (l->kind) {
	case MT_LED_GPIO: mt_gpio_close(l); break;
	case MT_LED_CLASS: mt_ledclass_close(l); break;
	default: mt_fake_close(l); break;
	}
}

int mt_leds_open(struct mt_leds *ls, const struct mt_board *b, const char *consumer,
		 int *busy, char *err, size_t cap)
{
	char why[384];
	int i, ok;

	memset(ls, 0, sizeof *ls);
	ls->step_end_us = MT_NEVER;
	ls->code = MT_LED_COUNT;
	*busy = 0;
	for (i = 0; i < b->nleds; i++) {
		const struct mt_board_led *bl = &b->leds[i];
		struct mt_led *l = &ls->led[i];

		l->role = bl->role;
		l->level = -1;
		l->fd = -1;
		why[0] = '\0';
		if (bl->led[0]) {
			l->kind = MT_LED_CLASS;
			ok = mt_ledclass_open(l, bl, why, sizeof why);
		} else if (strcmp(bl->chip, MT_FAKE_CHIP) == 0) {
			l->kind = MT_LED_FAKE;
			ok = mt_fake_open(l, bl, busy, why, sizeof why);
		} else {
			l->kind = MT_LED_GPIO;
			ok = mt_gpio_open(l, bl, consumer, busy, why, sizeof why);
		}
		if (!ok) {
			snprintf(err, cap, "%s: leds[%d].%s", b->path, i, why);
			mt_leds_close(ls);
			return 0;
		}
		ls->n = i + 1;
	}
	return 1;
}

/* The level of LED l at step s of look k. */
static int level(const struct mt_led *l, const struct mt_led_look *k, int s)
{
	int on = k->step[s].on, v = l->role == MT_ROLE_OK ? k->ok :
				     l->role == MT_ROLE_ALARM ? k->alarm : 2;

	return v == 2 ? on : v;
}

static void apply(struct mt_leds *ls, int64_t due)
{
	const struct mt_led_look *k = mt_led_look(ls->code);
	int i;

	for (i = 0; i < ls->n; i++)
		if (!ls->led[i].kernel)
			set(&ls->led[i], level(&ls->led[i], k, ls->step), due);
}

void mt_leds_show(struct mt_leds *ls, enum mt_led_code c, int64_t now)
{
	const struct mt_led_look *k = mt_led_look(c);
	int i;

	if (!ls->n || c == ls->code)
		return;
	ls->code = c;
	ls->step = 0;
	ls->step_end_us = k->nsteps > 1 ? now + k->step[0].ms * 1000LL : MT_NEVER;
	for (i = 0; i < ls->n; i++) {
		struct mt_led *l = &ls->led[i];
		int follows = level(l, k, 0) != level(l, k, k->nsteps > 1 ? 1 : 0);
		int was = l->kernel;

		/* An LED class device that blinks: the kernel keeps time. */
		l->kernel = l->kind == MT_LED_CLASS && follows &&
			    mt_ledclass_rhythm(l, k->step, k->nsteps);
		if (was && !l->kernel)
			mt_ledclass_steady(l);
		if (was || l->kernel)
			l->level = -1;	/* the kernel moved it: set it again */
	}
	apply(ls, now);
}

void mt_leds_tick(struct mt_leds *ls, int64_t now)
{
	const struct mt_led_look *k = mt_led_look(ls->code);

	if (!ls->n || ls->step_end_us == MT_NEVER || now < ls->step_end_us)
		return;
	/* Each step ends where the last one did: no drift. After a long
	 * stall (a stopped process) the rhythm starts again from now. */
	while (now >= ls->step_end_us) {
		ls->step = (ls->step + 1) % k->nsteps;
		ls->step_end_us += k->step[ls->step].ms * 1000LL;
		if (now - ls->step_end_us > 10000000LL)
			ls->step_end_us = now + k->step[ls->step].ms * 1000LL;
	}
	apply(ls, ls->step_end_us - k->step[ls->step].ms * 1000LL);	/* the step's start */
}

int64_t mt_leds_next_us(const struct mt_leds *ls)
{
	return ls->n ? ls->step_end_us : MT_NEVER;
}

void mt_leds_close(struct mt_leds *ls)
{
	int i;

	for (i = 0; i < ls->n; i++)
		close_one(&ls->led[i]);
	ls->n = 0;
	ls->code = MT_LED_COUNT;
	ls->step_end_us = MT_NEVER;
}
