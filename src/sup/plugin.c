/* mtest: the embedded plugin. */
#include "mtest/sup/plugin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mtest/base/fsx.h"
#include "mtest/limits.h"

#include "plugin_src.h"	/* generated: mt_plugin_source, mt_boot_source */

/* Write <dir>/<module>.py unless it holds these bytes already. */
static int install(const char *dir, const char *module, const char *text, size_t n)
{
	static char have[(sizeof mt_plugin_source > sizeof mt_boot_source ?
			  sizeof mt_plugin_source : sizeof mt_boot_source) + 1];
	static struct mt_atomic a;
	char path[MT_PATH_MAX];

	if (snprintf(path, sizeof path, "%s/%s.py", dir, module) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return 0;
	}
	if (mt_read_file(path, have, sizeof have) == (ssize_t)n && memcmp(have, text, n) == 0)
		return 1;
	if (!mt_atomic_open(&a, path))
		return 0;
	mt_buf_put(&a.out, text, n);
	if (!mt_atomic_commit(&a)) {
		mt_atomic_abort(&a);
		return 0;
	}
	return 1;
}

int mt_plugin_install(const char *dir)
{
	return install(dir, MT_PLUGIN_MODULE, mt_plugin_source, sizeof mt_plugin_source - 1) &&
	       install(dir, MT_BOOT_MODULE, mt_boot_source, sizeof mt_boot_source - 1);
}
