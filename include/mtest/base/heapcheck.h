/* mtest: hooks for the heap check of the test suite. The checker
 * (tests/heapcheck.c), preloaded with LD_PRELOAD, defines them and counts
 * every allocation between arm and disarm; without it they do nothing. */
#ifndef MTEST_HEAPCHECK_H
#define MTEST_HEAPCHECK_H

extern void mtest_heapcheck_arm(void) __attribute__((weak));
extern void mtest_heapcheck_disarm(void) __attribute__((weak));

static inline void mt_heapcheck_arm(void)
{
	if (mtest_heapcheck_arm)
		mtest_heapcheck_arm();
}

static inline void mt_heapcheck_disarm(void)
{
	if (mtest_heapcheck_disarm)
		mtest_heapcheck_disarm();
}

#endif
