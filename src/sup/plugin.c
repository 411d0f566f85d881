/* mtest: the embedded plugin. */
#include "mtest/sup/plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtest/base/fsx.h"
#include "mtest/limits.h"

#include "plugin_src.h"	/* generated: the sources, and their bytecode */

/* Write a new file into the plugin's folder. The folder is made afresh at
 * each start (mt_statedir_plugin) and only workers started after this read
 * it: no temporary file, no fsync (a cut write is gone at the next start). */
static int put(int dirfd, const char *name, const void *bytes, size_t n)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	int ok;

	if (fd < 0)
		return 0;
	ok = mt_write_all(fd, bytes, n);
	if (close(fd) < 0)
		ok = 0;
	return ok;
}

/* A module's bytecode where Python looks for it first (and a Python of
 * another version never does): __pycache__/<module>.<tag>.pyc. */
static int put_pyc(int cachefd, const char *module, const unsigned char *pyc, size_t n)
{
	char name[128];

	snprintf(name, sizeof name, "%s.%s.pyc", module, MT_PYC_TAG);
	return put(cachefd, name, pyc, n);
}

static int put_cache(int dirfd)
{
	int fd, ok;

	if (mkdirat(dirfd, "__pycache__", 0700) < 0 && errno != EEXIST)
		return 0;
	fd = openat(dirfd, "__pycache__", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ok = put_pyc(fd, MT_PLUGIN_MODULE, mt_plugin_pyc, sizeof mt_plugin_pyc) &&
	     put_pyc(fd, MT_BOOT_MODULE, mt_boot_pyc, sizeof mt_boot_pyc) &&
	     put_pyc(fd, MT_LOCKS_MODULE, mt_locks_pyc, sizeof mt_locks_pyc);
	close(fd);
	return ok;
}

int mt_plugin_install(int dirfd)
{
	return put(dirfd, MT_PLUGIN_MODULE ".py", mt_plugin_source, sizeof mt_plugin_source - 1) &&
	       put(dirfd, MT_BOOT_MODULE ".py", mt_boot_source, sizeof mt_boot_source - 1) &&
	       put(dirfd, MT_LOCKS_MODULE ".py", mt_locks_source, sizeof mt_locks_source - 1) &&
	       put_cache(dirfd);
}
