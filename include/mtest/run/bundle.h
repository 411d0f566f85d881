/* mtest: one diagnostic bundle per failed, errored, hung or crashed test,
 * in last-run/failures/: everything needed to act on it, in one file. */
#ifndef MTEST_BUNDLE_H
#define MTEST_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where and with what the run happens: in every bundle. */
struct mt_fingerprint {
	char python[64];	/* version */
	char executable[512];
	char pytest[64];
	char timeout_plugin[64];
	char kernel[160];	/* uname -srv */
	char machine[64];
	char host[128];
	char rootdir[512];
	char cmdline[8192];	/* the worker's command, shell-quoted */
};

struct mt_bundle {
	const char *id;
	const char *verdict;
	const char *reason;
	const char *detail;
	int64_t duration_us;
	int64_t timeout_us;	/* <= 0: none */
	int64_t start_wall_us;
	const char *memory;	/* "peak 244 MiB (lane limit 512 MiB)", or NULL */
	int worker, attempt;
	pid_t pid;
	const char *failure;	/* the plugin's failure texts, by phase */
	const char *cap_out;	/* captured output of a test in flight */
	const char *cap_err;
	const char *console;	/* the worker's console tail */
	const char *stacks_path;	/* a capture file to include, or NULL */
	const char *tainted;	/* taint flags the test brought, decoded, or NULL */
	const char *kernel_head;	/* what the kernel's lines are, or NULL */
	const char *kernel;	/* the kernel's lines while it ran, or NULL */
	const struct mt_fingerprint *fp;
};

/* A file name for the bundle of `id`: a safe prefix of the id, "-", 16 hex
 * digits of its hash, ".txt". Unique for distinct ids (64-bit hash). */
void mt_bundle_name(const char *id, char *out, size_t cap);
/* Write <name> below the open directory dirfd atomically. Returns 1, or 0
 * with errno. */
int mt_bundle_write(int dirfd, const char *name, const struct mt_bundle *b);
/* Add a section to an existing bundle, atomically (a copy with the text
 * added replaces it). Returns 1, or 0 with errno. */
int mt_bundle_append(int dirfd, const char *name, const char *text);
/* Shell-quote argv into out, for the bundle's command line. */
void mt_bundle_quote_argv(char *out, size_t cap, char *const argv[]);

#endif
