/* mtest: directories opened by a path that nobody else can change.
 *
 * The state directory holds the plugin every worker imports, and the LED
 * daemon's runtime directory its socket: a path through a directory that
 * another user can write (a parent with mode 0777, a link in /tmp) would
 * let that user swap what mtest opens after it looked. So a directory is
 * opened from "/" one component at a time (openat, O_NOFOLLOW,
 * O_DIRECTORY), and every directory on the way, the last included, must
 * belong to root or to this user and be writable by nobody else; a
 * directory on the way (not the last) may be world-writable if it is
 * sticky, as /tmp is: then nobody else may rename or remove what it holds.
 * A symbolic link on the way is followed only when it belongs to root or
 * to this user (OpenSSH's StrictModes rule, with links resolved by the
 * walk itself). The descriptor that comes back is the directory that was
 * checked: what happens to the path afterwards cannot change it. */
#ifndef MTEST_TRUST_H
#define MTEST_TRUST_H

#include <stddef.h>
#include <sys/types.h>

enum {
	MT_TRUST_CREATE = 1,	/* make missing directories (0755; the last, `mode`) */
	MT_TRUST_OWN = 2,	/* the last must belong to this user, not only root */
};

/* Open `path` (relative: from the current directory). Returns an
 * O_RDONLY | O_DIRECTORY | O_CLOEXEC descriptor, or -1 with errno set and
 * one line in why naming the directory and the problem ("/tmp/x is
 * writable by others (mode 0777)", "/srv/s belongs to uid 65534"). */
int mt_trust_open(const char *path, int flags, mode_t mode, char *why, size_t cap);

#endif
