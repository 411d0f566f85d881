/* mtest: thread names, as the plugin reported them (names.h): kept by the
 * supervisor, read by the capture helper and the wait-for graph. */
#include "mtest/watch/names.h"

#include <stdio.h>

void mt_names_reset(struct mt_names *nm)
{
	nm->n = 0;
}

void mt_names_set(struct mt_names *nm, pid_t tid, const char *name, int daemon)
{
	int i;

	for (i = 0; i < nm->n && nm->t[i].tid != tid; i++)
		;
	if (i == nm->n) {
		if (nm->n == MT_THREADS_MAX)
			i = (int)(tid % MT_THREADS_MAX);	/* full: overwrite one */
		else
			nm->n++;
	}
	nm->t[i].tid = tid;
	snprintf(nm->t[i].name, sizeof nm->t[i].name, "%s", name);
	nm->t[i].daemon = (unsigned char)daemon;
}

const char *mt_names_get(const struct mt_names *nm, pid_t tid, pid_t pid)
{
	int i;

	if (tid == pid)
		return "MainThread";
	for (i = 0; i < nm->n; i++)
		if (nm->t[i].tid == tid)
			return nm->t[i].name;
	return NULL;
}
