/* libFuzzer target: the event pipe. The input is what a worker (or a test
 * writing into the pipe) sends: it goes through a real pipe into worker.c's
 * deframer, once in pipe-sized writes and once in small ones, and each
 * frame into mt_event_parse. Both cuts must give the same frames. The
 * input is also parsed directly as one frame (its RS and LF stripped),
 * without the deframer's length cap. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtest/sup/events.h"
#include "mtest/base/hash.h"
#include "mtest/sup/worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "52e6dd0781339a9a"	/* the worker of the seeds' real runs */

static struct mt_worker W;		/* large: static, as in mtest */
static struct mt_event E;
static uint64_t seen;			/* the frames handed over, hashed */
static uint32_t nseen;

static void check(int ok)
{
	if (!ok)
		abort();
}

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* Every text field stays a C string, and every count within its table. */
static void check_event(void)
{
	int k;

	check(E.ngone >= 0 && E.ngone <= MT_HELPERS_MAX);
	check(E.nmarkers >= 0 && E.nmarkers <= MT_MARKERS_MAX);
	check(E.ntids >= 0 && E.ntids <= MT_FIXTURE_ITEMS);
	check(E.npids >= 0 && E.npids <= MT_FIXTURE_ITEMS);
	for (k = 0; k < E.nmarkers; k++)
		check(terminated(E.markers[k], sizeof E.markers[k]));
	for (k = 0; k < MT_FIXTURE_ITEMS; k++)
		check(terminated(E.cmds[k], sizeof E.cmds[k]));
#define T(f) check(terminated(E.f, sizeof E.f))
	T(scope); T(id); T(file); T(path); T(exc); T(skip); T(xfail); T(crash);
	T(text); T(out); T(err); T(log); T(python); T(pytest); T(timeout_plugin);
	T(what); T(name); T(executable); T(rootdir); T(inifile); T(threads);
#undef T
}

static void on_line(void *ctx, struct mt_worker *w, char *line, size_t len)
{
	(void)ctx;
	check(len > 0 && len <= sizeof w->line);
	seen = seen * 1099511628211u ^ mt_hash64(line, len);
	nseen++;
	mt_event_parse(&E, line, len, TOKEN);
	check_event();
}

/* The whole input through a pipe, in writes of `piece` bytes, each read
 * at once; then the end of the pipe. Returns the frames' hash. */
static uint64_t feed(const uint8_t *data, size_t size, size_t piece, uint32_t *bad)
{
	int p[2];
	size_t off, k;

	check(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	mt_worker_reset(&W, 1);
	W.ev_fd = p[0];
	seen = nseen = 0;
	for (off = 0; off < size; off += k) {
		k = size - off < piece ? size - off : piece;
		check(write(p[1], data + off, k) == (ssize_t)k);
		check(mt_worker_read_events(&W, on_line, NULL) == 1);
	}
	close(p[1]);
	check(mt_worker_read_events(&W, on_line, NULL) == 0 && W.ev_fd == -1);
	check(W.line_len <= sizeof W.line && W.sample_len < sizeof W.sample);
	*bad = W.bad_lines;
	return seen ^ nseen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t n = size, piece;
	uint32_t bad1, bad2;
	uint64_t h1, h2;

	/* An empty pipe's capacity (64 KiB): one read per write. */
	h1 = feed(data, size, 65536, &bad1);
	/* Reads cut anywhere: a piece size the input picks. */
	piece = size ? 1 + (data[size / 2] * 31u + size) % 512 : 1;
	h2 = feed(data, size, piece, &bad2);
	check(h1 == h2 && bad1 == bad2);

	if (n && s[0] == MT_FRAME_RS) {
		s++;
		n--;
	}
	if (n && s[n - 1] == '\n')
		n--;
	mt_event_parse(&E, s, n, TOKEN);
	check_event();
	return 0;
}
