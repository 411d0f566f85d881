/* libFuzzer target: `mtest --report` on any run.jsonl. The input is the
 * whole journal: replayed line by line into the test table (report.c,
 * through the same line buffer as the file) and rendered by summary.c
 * into an 8 KiB buffer flushed to /dev/null, as --report prints it. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "mtest/base/buf.h"
#include "mtest/limits.h"
#include "mtest/run/report.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out_bytes[MT_OUTBUF];
	struct mt_buf out;

	mt_buf_init(&out, out_bytes, sizeof out_bytes, devnull);
	mt_report_replay((const char *)data, size, &out);
	if (!mt_buf_flush(&out))
		abort();
	return 0;
}
