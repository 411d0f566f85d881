/* mtest: failure bundles. */
#include "mtest/run/bundle.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/base/hash.h"

#define NAME_PREFIX_MAX 96

void mt_bundle_name(const char *id, char *out, size_t cap)
{
	char prefix[NAME_PREFIX_MAX + 1];
	size_t i, n = 0;
	char c;

	for (i = 0; id[i] && n < NAME_PREFIX_MAX; i++) {
		c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
			c = '_';
		/* One '_' for a run of unsafe bytes ("::" and "/" alike). */
		if (c == '_' && n && prefix[n - 1] == '_')
			continue;
		prefix[n++] = c;
	}
	if (n && prefix[0] == '.')
		prefix[0] = '_';	/* never a hidden file */
	if (n == 0)
		prefix[n++] = '_';	/* nor one that starts with a dash */
	prefix[n] = '\0';
	snprintf(out, cap, "%s-%016llx.txt", prefix,
		 (unsigned long long)mt_hash64(id, strlen(id)));
}

void mt_bundle_quote_argv(char *out, size_t cap, char *const argv[])
{
	struct mt_buf b;
	const char *a;
	int i;

	mt_buf_init(&b, out, cap, -1);
	for (i = 0; argv[i]; i++) {
		if (i)
			mt_buf_putc(&b, ' ');
		if (argv[i][0] && strspn(argv[i], "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,+@%") == strlen(argv[i])) {
			mt_buf_puts(&b, argv[i]);
			continue;
		}
		mt_buf_putc(&b, '\'');
		for (a = argv[i]; *a; a++) {
			if (*a == '\'')
				mt_buf_puts(&b, "'\\''");
			else if (*a == '\n')
				mt_buf_puts(&b, "'$'\\n''");
			else
				mt_buf_putc(&b, *a);
		}
		mt_buf_putc(&b, '\'');
	}
}

static void section(struct mt_buf *o, const char *title, const char *text)
{
	size_t n;

	if (!text || !*text)
		return;
	mt_buf_printf(o, "\n== %s ==\n", title);
	n = strlen(text);
	mt_buf_put(o, text, n);
	if (text[n - 1] != '\n')
		mt_buf_putc(o, '\n');
}

/* Copy a file into the bundle, in pieces through a fixed buffer. */
static void include_file(struct mt_buf *o, const char *title, const char *path)
{
	static char chunk[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	mt_buf_printf(o, "\n== %s ==\n", title);
	while ((n = mt_read_full(fd, chunk, sizeof chunk)) > 0)
		mt_buf_put(o, chunk, (size_t)n);
	close(fd);
}

int mt_bundle_append(int dirfd, const char *name, const char *text)
{
	static struct mt_atomic a;
	static char chunk[8192];
	ssize_t n;
	int fd;

	fd = mt_open_file_at(dirfd, name);
	if (fd < 0)
		return 0;
	if (!mt_atomic_open_at(&a, dirfd, name)) {
		close(fd);
		return 0;
	}
	while ((n = mt_read_full(fd, chunk, sizeof chunk)) > 0)
		mt_buf_put(&a.out, chunk, (size_t)n);
	close(fd);
	mt_buf_puts(&a.out, text);
	if (n < 0 || !mt_atomic_commit(&a)) {
		mt_atomic_abort(&a);
		return 0;
	}
	return 1;
}

int mt_bundle_write(int dirfd, const char *name, const struct mt_bundle *b)
{
	static struct mt_atomic a;
	struct mt_buf *o;
	const struct mt_fingerprint *fp = b->fp;

	if (!mt_atomic_open_at(&a, dirfd, name))
		return 0;
	o = &a.out;
	mt_buf_puts(o, "mtest bundle\n");
	mt_buf_printf(o, "test:      %s\n", b->id);
	mt_buf_printf(o, "verdict:   %s%s%s%s\n", b->verdict, b->reason && *b->reason ? " (" : "",
		      b->reason ? b->reason : "", b->reason && *b->reason ? ")" : "");
	if (b->detail && *b->detail)
		mt_buf_printf(o, "detail:    %s\n", b->detail);
	mt_buf_puts(o, "duration:  ");
	mt_buf_secs(o, b->duration_us, 3);
	mt_buf_puts(o, " s");
	if (b->timeout_us > 0) {
		mt_buf_puts(o, " (timeout ");
		mt_buf_secs(o, b->timeout_us, 1);
		mt_buf_puts(o, " s)");
	}
	if (b->memory && *b->memory)
		mt_buf_printf(o, "\nmemory:    %s", b->memory);
	mt_buf_puts(o, "\nstarted:   ");
	mt_buf_utc(o, b->start_wall_us);
	mt_buf_printf(o, "\nworker:    %d (pid %d), attempt %d\n", b->worker, (int)b->pid,
		      b->attempt);
	if (fp) {
		mt_buf_printf(o, "command:   %s\n", fp->cmdline);
		mt_buf_printf(o, "python:    %s (%s)\n", fp->python, fp->executable);
		mt_buf_printf(o, "pytest:    %s%s%s\n", fp->pytest,
			      fp->timeout_plugin[0] ? ", pytest-timeout " : "", fp->timeout_plugin);
		mt_buf_printf(o, "rootdir:   %s\n", fp->rootdir);
		mt_buf_printf(o, "host:      %s %s (%s)\n", fp->kernel, fp->machine, fp->host);
	}
	if (b->tainted)
		mt_buf_printf(o, "tainted:   %s\n", b->tainted);
	section(o, "failure", b->failure);
	if (b->kernel_head || b->kernel) {
		mt_buf_puts(o, "\n== the kernel's log while the test ran (/dev/kmsg) ==\n");
		if (b->kernel_head && *b->kernel_head)
			mt_buf_printf(o, "(%s)\n", b->kernel_head);
		if (b->kernel)
			mt_buf_puts(o, b->kernel);
	}
	if (b->stacks_path)
		include_file(o, "threads (captured before the kill)", b->stacks_path);
	section(o, "captured stdout of the test in flight (tail)", b->cap_out);
	section(o, "captured stderr of the test in flight (tail)", b->cap_err);
	section(o, "worker console (tail)", b->console);
	if (!mt_atomic_commit(&a)) {
		mt_atomic_abort(&a);
		return 0;
	}
	return 1;
}
