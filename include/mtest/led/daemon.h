/* mtest led: the LED daemon (docs/leds.md). A GPIO line reverts when its
 * holder exits, so one small process holds the board's LEDs for as long
 * as the box is up and shows the state directory's last run: it follows
 * state.json (inotify, and a look every second for what inotify cannot
 * tell: a dead run's lock, a state directory replaced), shows "fault"
 * when the state directory is missing, damaged or not trusted (the trust
 * rule of base/trust.h: another user must not choose what the LEDs say),
 * and keeps the rhythm from one timer. It holds the board's control
 * channel (led/channel.h), so that runs and a second daemon know it is
 * there, and takes requests on it from root and its own user: "lamp"
 * (mtest led --lamp-test) and "show CODE SECS" (--show). */
#ifndef MTEST_LED_DAEMON_H
#define MTEST_LED_DAEMON_H

#include <stddef.h>

#include "mtest/cli.h"
#include "mtest/led/board.h"

/* 1 if an LED daemon runs for this board; a runtime directory that was
 * not trusted is named in why (one line, "" if none). */
int mt_led_daemon_present(const struct mt_board *b, char *why, size_t cap);
/* mtest led [--show CODE [--for SECS] | --lamp-test]: the exit code. */
int mt_led_main(const struct mt_opts *o);

#endif
