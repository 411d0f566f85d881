/* mtest: state.json (include/mtest/state/runstate.h). */
#include "mtest/state/runstate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mtest/base/buf.h"
#include "mtest/base/clock.h"
#include "mtest/base/fsx.h"
#include "mtest/base/json.h"
#include "mtest/base/msg.h"
#include "mtest/limits.h"

int mt_runstate_write(int dirfd, const struct mt_runstate *st)
{
	static struct mt_atomic a;

	if (!mt_atomic_open_at(&a, dirfd, "state.json"))
		return 0;
	mt_buf_puts(&a.out, "{\"v\":1,\"run\":");
	mt_buf_jsons(&a.out, st->run);
	mt_buf_printf(&a.out, ",\"pid\":%d,\"since\":\"", st->pid);
	mt_buf_utc(&a.out, st->since_wall_us);
	mt_buf_puts(&a.out, "\",\"status\":");
	mt_buf_jsons(&a.out, st->status);
	mt_buf_printf(&a.out, ",\"synced\":%lld,\"exit\":%d", (long long)st->synced,
		      st->exit_code);
	if (st->led[0]) {
		mt_buf_puts(&a.out, ",\"led\":");
		mt_buf_jsons(&a.out, st->led);
	}
	mt_buf_puts(&a.out, "}\n");
	if (!mt_atomic_commit(&a)) {
		mt_atomic_abort(&a);
		return 0;
	}
	return 1;
}

int mt_runstate_parse(const char *text, size_t n, struct mt_runstate *st)
{
	static struct mt_json js;
	char stamp[40];
	int64_t v;

	memset(st, 0, sizeof *st);
	st->exit_code = -1;
	if (!mt_json_parse(&js, text, n) || !mt_json_get_int(&js, 0, "v", &v) || v != 1 ||
	    !mt_json_get_str(&js, 0, "run", st->run, sizeof st->run) ||
	    !mt_json_get_str(&js, 0, "status", st->status, sizeof st->status))
		return 0;
	if (mt_json_get_int(&js, 0, "pid", &v))
		st->pid = (int)v;
	if (mt_json_get_int(&js, 0, "synced", &v))
		st->synced = v;
	if (mt_json_get_int(&js, 0, "exit", &v))
		st->exit_code = (int)v;
	if (mt_json_get_str(&js, 0, "since", stamp, sizeof stamp))
		mt_parse_utc(stamp, &st->since_wall_us);
	mt_json_get_str(&js, 0, "led", st->led, sizeof st->led);
	return 1;
}

int mt_runstate_read(int dirfd, const char *dir, struct mt_runstate *st)
{
	char text[1024];
	ssize_t n;

	memset(st, 0, sizeof *st);
	st->exit_code = -1;
	n = mt_read_file_at(dirfd, "state.json", text, sizeof text);
	if (n < 0)
		return 0;
	if (mt_runstate_parse(text, (size_t)n, st))
		return 1;
	if (renameat(dirfd, "state.json", dirfd, "state.json.corrupt") == 0)
		mt_msg("%s/state.json: not a state file (damaged?): moved aside to "
		       "%s/state.json.corrupt", dir, dir);
	else
		mt_msg_sys("%s/state.json: not a state file (damaged?), and it cannot be moved aside",
			   dir);
	return -1;
}
