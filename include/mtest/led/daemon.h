/* mtest led: the LED daemon (docs/leds.md). A GPIO line reverts when its
 * holder exits, so one small process holds the board's LEDs for as long
 * as the box is up and shows the state directory's last run: it follows
 * state.json (inotify, and a look every second for what inotify cannot
 * tell: a dead run's lock, a state directory replaced), shows "fault"
 * when the state directory is missing or damaged, and keeps the rhythm
 * from one timer. It holds the abstract socket "@mtest-led/<board>", so
 * that runs and a second daemon know it is there, and takes requests on
 * it: "lamp" (mtest led --lamp-test) and "show CODE SECS" (--show). */
#ifndef MTEST_LED_DAEMON_H
#define MTEST_LED_DAEMON_H

#include "mtest/cli.h"
#include "mtest/led/board.h"

/* 1 if an LED daemon runs for this board. */
int mt_led_daemon_present(const struct mt_board *b);
/* mtest led [--show CODE [--for SECS] | --lamp-test]: the exit code. */
int mt_led_main(const struct mt_opts *o);

#endif
