/* mtest: board files (include/mtest/led/board.h). */
#include "mtest/led/board.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtest/base/fsx.h"
#include "mtest/base/json.h"

struct ctx {
	struct mt_json js;
	const char *path;
	char *err;
	size_t errcap;
	char where[64];		/* "leds[1]." while in an LED */
};

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
{
	char what[256];
	unsigned char *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (field)
		snprintf(c->err, c->errcap, "%s: %s%s: %s", c->path, c->where, field, what);
	else
		snprintf(c->err, c->errcap, "%s: %s", c->path, what);
	/* One line, whatever a key or value in the file holds (found by
	 * fuzz_board: a key with a newline in it). */
	for (p = (unsigned char *)c->err; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return 0;
}

/* Edit distance, for "did you mean"; names are short. */
static unsigned distance(const char *a, const char *b)
{
	unsigned d[40][40], i, j, la = (unsigned)strlen(a), lb = (unsigned)strlen(b), x;

	if (la >= 40 || lb >= 40)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			x = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < x)
				x = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < x)
				x = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < x)
				x = d[i - 2][j - 2] + 1;
			d[i][j] = x;
		}
	return d[la][lb];
}

/* Key token t must be one of keys (NULL-terminated). */
static int known(struct ctx *c, int t, const char *const *keys)
{
	char key[64];
	const char *best = NULL;
	unsigned k, d, bestd = 3;

	mt_json_str(&c->js, t, key, sizeof key);
	for (k = 0; keys[k]; k++) {
		if (strcmp(key, keys[k]) == 0)
			return 1;
		d = distance(key, keys[k]);
		if (d < bestd) {
			bestd = d;
			best = keys[k];
		}
	}
	if (best)
		return fail(c, key, "unknown field (did you mean %s?)", best);
	return fail(c, key, "unknown field");
}

static int str(struct ctx *c, int v, const char *field, char *out, size_t cap)
{
	if (!mt_json_is_str(&c->js, v))
		return fail(c, field, "want a string");
	if (c->js.tok[v].end - c->js.tok[v].start >= (int)cap)
		return fail(c, field, "too long (at most %zu bytes)", cap - 1);
	mt_json_str(&c->js, v, out, cap);
	if (!out[0])
		return fail(c, field, "empty");
	return 1;
}

static int led(struct ctx *c, int obj, struct mt_board_led *l)
{
	static const char *const keys[] = { "role", "chip", "line", "led", "active_low", "comment",
					    NULL };
	char role[32];
	const jsmntok_t *tk;
	int i, k, v, have_line = 0;

	memset(l, 0, sizeof *l);
	l->line = -1;
	l->role = MT_ROLE_COUNT;
	if (c->js.tok[obj].type != JSMN_OBJECT)
		return fail(c, "", "want an object");
	for (i = obj + 1, k = 0; k < c->js.tok[obj].size; k++, i = mt_json_next(&c->js, i + 1)) {
		v = i + 1;
		tk = &c->js.tok[v];
		if (!known(c, i, keys))
			return 0;
		if (mt_json_eq(&c->js, i, "role")) {
			if (!str(c, v, "role", role, sizeof role))
				return 0;
			l->role = mt_led_role_named(role);
			if (l->role == MT_ROLE_COUNT)
				return fail(c, "role", "want status, ok or alarm, got '%s'", role);
		} else if (mt_json_eq(&c->js, i, "chip")) {
			if (!str(c, v, "chip", l->chip, sizeof l->chip))
				return 0;
		} else if (mt_json_eq(&c->js, i, "led")) {
			if (!str(c, v, "led", l->led, sizeof l->led))
				return 0;
			if (strchr(l->led, '/') || l->led[0] == '.')
				return fail(c, "led", "want a name in /sys/class/leds, got '%s'",
					    l->led);
		} else if (mt_json_eq(&c->js, i, "line")) {
			have_line = 1;
			if (tk->type == JSMN_STRING) {
				if (!str(c, v, "line", l->line_name, sizeof l->line_name))
					return 0;
			} else {
				char num[16];
				char *end;
				long n;

				snprintf(num, sizeof num, "%.*s", tk->end - tk->start,
					 c->js.s + tk->start);
				errno = 0;
				n = strtol(num, &end, 10);
				if (tk->type != JSMN_PRIMITIVE || *end || errno || n < 0 || n > 1023)
					return fail(c, "line", "want an offset from 0 to 1023 or a "
						    "line name, got %s", num);
				l->line = (int)n;
			}
		} else if (mt_json_eq(&c->js, i, "active_low")) {
			if (tk->type != JSMN_PRIMITIVE || (!mt_json_eq(&c->js, v, "true") &&
							   !mt_json_eq(&c->js, v, "false")))
				return fail(c, "active_low", "want true or false");
			l->active_low = mt_json_eq(&c->js, v, "true");
		}
	}
	if (l->role == MT_ROLE_COUNT)
		return fail(c, "role", "missing (status, ok or alarm)");
	if (!l->chip[0] == !l->led[0])
		return fail(c, l->chip[0] ? "led" : "chip", "give a chip and a line, or a led "
			    "(a /sys/class/leds device), not %s", l->chip[0] ? "both" : "neither");
	if (l->chip[0] && !have_line)
		return fail(c, "line", "missing (an offset or a line name)");
	if (l->led[0] && (have_line || l->active_low))
		return fail(c, have_line ? "line" : "active_low", "not for a led (LED class "
			    "devices know their own polarity)");
	return 1;
}

static int defaults(struct ctx *c, int obj, struct mt_board *b)
{
	static const char *const keys[] = { "state_dir", "suite", "python", "timeout", "budget",
					    "comment", NULL };
	int i, k, v;

	snprintf(c->where, sizeof c->where, "defaults.");
	if (c->js.tok[obj].type != JSMN_OBJECT)
		return fail(c, "", "want an object");
	for (i = obj + 1, k = 0; k < c->js.tok[obj].size; k++, i = mt_json_next(&c->js, i + 1)) {
		v = i + 1;
		if (!known(c, i, keys))
			return 0;
		if ((mt_json_eq(&c->js, i, "state_dir") &&
		     !str(c, v, "state_dir", b->state_dir, sizeof b->state_dir)) ||
		    (mt_json_eq(&c->js, i, "suite") && !str(c, v, "suite", b->suite, sizeof b->suite)) ||
		    (mt_json_eq(&c->js, i, "python") &&
		     !str(c, v, "python", b->python, sizeof b->python)) ||
		    (mt_json_eq(&c->js, i, "timeout") &&
		     !str(c, v, "timeout", b->timeout, sizeof b->timeout)) ||
		    (mt_json_eq(&c->js, i, "budget") &&
		     !str(c, v, "budget", b->budget, sizeof b->budget)))
			return 0;
	}
	c->where[0] = '\0';
	return 1;
}

/* "limits": what a run's tests may take on this box (docs/dirt.md). */
static int limits(struct ctx *c, int obj, struct mt_board *b)
{
	static const char *const keys[] = { "memory_max", "memory_high", "lane_memory_max",
					    "lane_memory_high", "cpu_weight", "io_weight",
					    "comment", NULL };
	const jsmntok_t *tk;
	int i, k, v, m;

	snprintf(c->where, sizeof c->where, "limits.");
	if (c->js.tok[obj].type != JSMN_OBJECT)
		return fail(c, "", "want an object");
	for (i = obj + 1, k = 0; k < c->js.tok[obj].size; k++, i = mt_json_next(&c->js, i + 1)) {
		v = i + 1;
		tk = &c->js.tok[v];
		if (!known(c, i, keys))
			return 0;
		for (m = 0; m < 4; m++)
			if (mt_json_eq(&c->js, i, keys[m]) &&
			    !str(c, v, keys[m], b->limit[m], sizeof b->limit[m]))
				return 0;
		if (mt_json_eq(&c->js, i, "cpu_weight") || mt_json_eq(&c->js, i, "io_weight")) {
			const char *name = mt_json_eq(&c->js, i, "cpu_weight") ? "cpu_weight" :
					   "io_weight";
			char num[16];
			char *end;
			long w;

			snprintf(num, sizeof num, "%.*s", tk->end - tk->start, c->js.s + tk->start);
			errno = 0;
			w = strtol(num, &end, 10);
			if (tk->type != JSMN_PRIMITIVE || end == num || *end || errno || w < 1 ||
			    w > 10000)
				return fail(c, name, "want a number from 1 to 10000, got %s", num);
			*(name[0] == 'c' ? &b->cpu_weight : &b->io_weight) = (int)w;
		}
	}
	c->where[0] = '\0';
	return 1;
}

int mt_board_parse(struct mt_board *b, const char *text, size_t n, const char *path,
		   char *err, size_t errcap)
{
	static struct ctx c;
	static const char *const keys[] = { "board", "description", "leds", "defaults",
					    "timeout_scale", "limits", "comment", NULL };
	int i, k, v, e, roles[MT_ROLE_COUNT] = { 0 };

	memset(b, 0, sizeof *b);
	snprintf(b->path, sizeof b->path, "%s", path);
	c.path = path;
	c.err = err;
	c.errcap = errcap;
	c.where[0] = '\0';
	if (!mt_json_parse(&c.js, text, n))
		return fail(&c, NULL, "not a JSON object (or over %d tokens)", MT_JSON_TOKENS);
	for (i = 1, k = 0; k < c.js.tok[0].size; k++, i = mt_json_next(&c.js, i + 1)) {
		v = i + 1;
		if (!known(&c, i, keys))
			return 0;
		if (mt_json_eq(&c.js, i, "board")) {
			if (!str(&c, v, "board", b->name, sizeof b->name))
				return 0;
		} else if (mt_json_eq(&c.js, i, "defaults")) {
			if (!defaults(&c, v, b))
				return 0;
		} else if (mt_json_eq(&c.js, i, "timeout_scale")) {
			/* A number; its range is the command line's (cli.c). */
			snprintf(b->timeout_scale, sizeof b->timeout_scale, "%.*s",
				 c.js.tok[v].end - c.js.tok[v].start, c.js.s + c.js.tok[v].start);
			if (c.js.tok[v].type != JSMN_PRIMITIVE ||
			    strspn(b->timeout_scale, "0123456789.") != strlen(b->timeout_scale))
				return fail(&c, "timeout_scale", "want a number, got %s",
					    b->timeout_scale);
		} else if (mt_json_eq(&c.js, i, "limits")) {
			if (!limits(&c, v, b))
				return 0;
		} else if (mt_json_eq(&c.js, i, "leds")) {
			if (c.js.tok[v].type != JSMN_ARRAY || c.js.tok[v].size < 1)
				return fail(&c, "leds", "want a list of at least one LED");
			if (c.js.tok[v].size > MT_LEDS_MAX)
				return fail(&c, "leds", "%d LEDs, at most %d (MT_LEDS_MAX)",
					    c.js.tok[v].size, MT_LEDS_MAX);
			for (e = v + 1; b->nleds < c.js.tok[v].size; e = mt_json_next(&c.js, e)) {
				snprintf(c.where, sizeof c.where, "leds[%d].", b->nleds);
				if (!led(&c, e, &b->leds[b->nleds]))
					return 0;
				roles[b->leds[b->nleds].role]++;
				b->nleds++;
			}
			c.where[0] = '\0';
		}
	}
	if (!b->name[0])
		return fail(&c, "board", "missing (the board's name)");
	if (!b->nleds)
		return fail(&c, "leds", "missing (at least the status LED)");
	if (roles[MT_ROLE_STATUS] != 1)
		return fail(&c, "leds", "want exactly one LED with role status, got %d",
			    roles[MT_ROLE_STATUS]);
	for (k = 1; k < MT_ROLE_COUNT; k++)
		if (roles[k] > 1)
			return fail(&c, "leds", "%d LEDs with role %s, at most one", roles[k],
				    mt_led_role_name((enum mt_led_role)k));
	return 1;
}

int mt_board_load(struct mt_board *b, const char *path, char *err, size_t errcap)
{
	/* One byte more than a board may have, and its NUL: a bigger file
	 * fills it, never parses cut short. */
	static char text[MT_BOARD_BYTES + 2];
	ssize_t n = mt_read_file(path, text, sizeof text);

	if (n < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return 0;
	}
	if ((size_t)n > MT_BOARD_BYTES) {
		snprintf(err, errcap, "%s: larger than %u bytes: not a board file", path,
			 MT_BOARD_BYTES);
		return 0;
	}
	return mt_board_parse(b, text, (size_t)n, path, err, errcap);
}

static int readable(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folder of the running binary, into dir; 0 if unknown. */
int mt_board_find(const char *name, char *path, size_t cap, char *err, size_t errcap)
{
	/* Installed beside the binary (PREFIX/share/mtest/board, so a DESTDIR
	 * tree works too), the source tree's board/. */
	static const char *const rel[] = { "/share/mtest/board", "/board" };
	char exe[MT_PATH_MAX], dirs[3][MT_PATH_MAX + 32];
	const char *env = getenv("MTEST_BOARD_DIR");
	size_t len = strlen(name);
	int k, nd = 0;

	if (strchr(name, '/') || (len > 5 && strcmp(name + len - 5, ".json") == 0)) {
		snprintf(path, cap, "%s", name);
		if (readable(path))
			return 1;
		snprintf(err, errcap, "board file %s: %s", name, strerror(errno ? errno : ENOENT));
		return 0;
	}
	if (!len || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
			    != len || name[0] == '.') {
		snprintf(err, errcap, "--board: not a board name or a path: '%.64s'", name);
		return 0;
	}
	if (env && *env)
		snprintf(dirs[nd++], sizeof dirs[0], "%s", env);
	if (mt_exe_dir(exe, sizeof exe, 2))
		for (k = 0; k < 2; k++)
			snprintf(dirs[nd++], sizeof dirs[0], "%s%s", exe, rel[k]);
	for (k = 0; k < nd; k++) {
		snprintf(path, cap, "%s/%s.json", dirs[k], name);
		if (readable(path))
			return 1;
	}
	snprintf(err, errcap, "no board named %s (looked in %s%s%s%s%s)", name, nd ? dirs[0] : "",
		 nd > 1 ? ", " : "", nd > 1 ? dirs[1] : "", nd > 2 ? ", " : "", nd > 2 ? dirs[2] : "");
	return 0;
}
