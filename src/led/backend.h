/* mtest: the LED backends behind include/mtest/led/leds.h. Each open
 * writes "field: problem" into err ("chip: no GPIO chip labelled 'x'"). */
#ifndef MTEST_LED_BACKEND_H
#define MTEST_LED_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "mtest/led/leds.h"

int mt_gpio_open(struct mt_led *l, const struct mt_board_led *bl, const char *consumer,
		 int *busy, char *err, size_t cap);
int mt_gpio_set(struct mt_led *l, int on);
void mt_gpio_close(struct mt_led *l);

int mt_ledclass_open(struct mt_led *l, const struct mt_board_led *bl, char *err, size_t cap);
int mt_ledclass_set(struct mt_led *l, int on);
/* Let the kernel keep the rhythm (the pattern trigger); 0 if it cannot. */
int mt_ledclass_rhythm(struct mt_led *l, const struct mt_led_step *s, int n);
/* Take the pattern trigger off: a brightness above 0 would not. */
void mt_ledclass_steady(struct mt_led *l);
void mt_ledclass_close(struct mt_led *l);

#define MT_FAKE_CHIP "mtest-fake"
int mt_fake_open(struct mt_led *l, const struct mt_board_led *bl, int *busy, char *err,
		 size_t cap);
/* Logs "T ROLE LINE LEVEL DUE": T when set, DUE when the rhythm wanted it (us). */
int mt_fake_set(struct mt_led *l, int on, int64_t due);
void mt_fake_close(struct mt_led *l);

#endif
