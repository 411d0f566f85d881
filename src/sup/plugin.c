/* mtest: the embedded plugin. */
#include "mtest/sup/plugin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mtest/base/fsx.h"
#include "mtest/limits.h"

#include "plugin_src.h"	/* generated: mt_plugin_source, mt_boot_source, mt_locks_source */

#define BIGGER(a, b) (sizeof(a) > sizeof(b) ? sizeof(a) : sizeof(b))

/* Write <module>.py unless it holds these bytes already. */
static int install(int dirfd, const char *module, const char *text, size_t n)
{
	static char have[BIGGER(mt_locks_source, BIGGER(mt_plugin_source, mt_boot_source)) + 1];
	static struct mt_atomic a;
	char path[64];

	snprintf(path, sizeof path, "%s.py", module);
	if (mt_read_file_at(dirfd, path, have, sizeof have) == (ssize_t)n &&
	    memcmp(have, text, n) == 0)
		return 1;
	if (!mt_atomic_open_at(&a, dirfd, path))
		return 0;
	mt_buf_put(&a.out, text, n);
	if (!mt_atomic_commit(&a)) {
		mt_atomic_abort(&a);
		return 0;
	}
	return 1;
}

int mt_plugin_install(int dirfd)
{
	return install(dirfd, MT_PLUGIN_MODULE, mt_plugin_source, sizeof mt_plugin_source - 1) &&
	       install(dirfd, MT_BOOT_MODULE, mt_boot_source, sizeof mt_boot_source - 1) &&
	       install(dirfd, MT_LOCKS_MODULE, mt_locks_source, sizeof mt_locks_source - 1);
}
