/* mtest: the pytest plugin and the worker's entry point, built into the
 * binary from src/plugin/ and written next to the records at start-up. */
#ifndef MTEST_PLUGIN_H
#define MTEST_PLUGIN_H

/* Write mtest_plugin.py, mtest_boot.py and mtest_locks.py, and their
 * bytecode as compiled by the build machine's Python (__pycache__), into the
 * open directory dirfd: the fresh folder mt_statedir_plugin made. Returns 1,
 * or 0 with errno. */
int mt_plugin_install(int dirfd);
#define MT_PLUGIN_MODULE "mtest_plugin"
/* The worker runs `python -m mtest_boot`: pytest's own main, after a
 * check that reports a missing pytest as an event. */
#define MT_BOOT_MODULE "mtest_boot"
/* The lock ledger (docs/watchdog.md), which the plugin installs at boot. */
#define MT_LOCKS_MODULE "mtest_locks"
/* Exit status of the boot program when pytest cannot be imported. */
#define MT_BOOT_NO_PYTEST 121

#endif
