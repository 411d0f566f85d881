/* mtest: thread names, as the plugin reported them (the kernel calls every
 * thread "python3"). */
#ifndef MTEST_NAMES_H
#define MTEST_NAMES_H

#include <sys/types.h>

#include "mtest/limits.h"

struct mt_names {
	int n;
	struct {
		pid_t tid;
		char name[64];
		unsigned char daemon;
	} t[MT_THREADS_MAX];
};
void mt_names_reset(struct mt_names *nm);
void mt_names_set(struct mt_names *nm, pid_t tid, const char *name, int daemon);
const char *mt_names_get(const struct mt_names *nm, pid_t tid, pid_t pid);

#endif
