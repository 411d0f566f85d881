/* A malloc counter for the e2e tests, preloaded into mtest with
 * LD_PRELOAD. mtest calls mtest_heapcheck_arm() when its start-up is over
 * and mtest_heapcheck_disarm() at the very end (include/mtest/heapcheck.h);
 * in between, every allocation is counted. At disarm the count and the
 * first caller's address go to the file named by MTEST_HEAPCHECK_OUT, then
 * mtest's anonymous resident memory (RssAnon: its tables as touched, which
 * a run never gives back; the peak less the shared libraries' pages). */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static volatile int armed;
static unsigned long count;
static void *first;

void mtest_heapcheck_arm(void);
void mtest_heapcheck_disarm(void);

static void counted(void *caller)
{
	if (!armed)
		return;
	if (!count++)
		first = caller;
}

void *malloc(size_t n)
{
	counted(__builtin_return_address(0));
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	counted(__builtin_return_address(0));
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	counted(__builtin_return_address(0));
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

void *memalign(size_t a, size_t n)
{
	counted(__builtin_return_address(0));
	return __libc_memalign(a, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	counted(__builtin_return_address(0));
	return __libc_memalign(a, n);
}

int posix_memalign(void **out, size_t a, size_t n)
{
	counted(__builtin_return_address(0));
	*out = __libc_memalign(a, n);
	return *out ? 0 : 12;
}

void mtest_heapcheck_arm(void)
{
	count = 0;
	armed = 1;
}

/* RssAnon of /proc/self/status in KiB, or -1. */
static long rss_anon_kb(void)
{
	char text[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	p = strstr(text, "RssAnon:");
	return p ? strtol(p + 8, NULL, 10) : -1;
}

void mtest_heapcheck_disarm(void)
{
	const char *path = getenv("MTEST_HEAPCHECK_OUT");
	char line[160];
	int fd, n;

	armed = 0;
	if (!path)
		return;
	n = snprintf(line, sizeof line, "allocations %lu first %p\nrss_anon_kb %ld\n", count,
		     first, rss_anon_kb());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) < 0) {
		}
		close(fd);
	}
}
