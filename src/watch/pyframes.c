/* mtest: CPython 3.11 stacks from outside. Offsets were taken from
 * CPython 3.11's headers (tools/py311-offsets.c prints them) and are the
 * same on x86_64 and aarch64. */
#include "mtest/watch/pyframes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

/* CPython 3.11, LP64. */
enum {
	INTERP_THREADS_HEAD = 16,
	TSTATE_NEXT = 8,
	TSTATE_CFRAME = 56,
	TSTATE_THREAD_ID = 152,
	TSTATE_NATIVE_ID = 160,
	CFRAME_CURRENT = 8,
	FRAME_CODE = 32,
	FRAME_PREVIOUS = 48,
	FRAME_PREV_INSTR = 56,
	CODE_FIRSTLINENO = 72,
	CODE_FILENAME = 112,
	CODE_NAME = 120,
	CODE_LINETABLE = 136,
	CODE_CODE = 184,
	VAR_SIZE = 16,
	BYTES_DATA = 32,
	STR_LENGTH = 16,
	STR_STATE = 32,
	STR_ASCII_DATA = 48,
	STR_COMPACT_DATA = 72,
	MAX_THREADS_WALKED = 4096,
	LINETABLE_MAX = 65536,
};

int mt_py_supported(long hexversion)
{
	return (hexversion >> 16) == 0x030b && sizeof(void *) == 8;
}

static int rd(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)addr, n };

	return addr && process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)n;
}

static uint64_t rd_ptr(pid_t pid, uint64_t addr)
{
	uint64_t v = 0;

	return rd(pid, addr, &v, sizeof v) ? v : 0;
}

/* A str object into UTF-8 (compact strings only, which code objects'
 * names always are). */
static void rd_str(pid_t pid, uint64_t obj, char *out, size_t cap)
{
	int64_t len = 0;
	uint32_t state = 0, kind, cp;
	unsigned char raw[1024];
	size_t i, o = 0, width;

	out[0] = '\0';
	if (!rd(pid, obj + STR_LENGTH, &len, sizeof len) ||
	    !rd(pid, obj + STR_STATE, &state, sizeof state) || len < 0)
		return;
	kind = (state >> 2) & 7;
	width = kind == 4 ? 4 : kind == 2 ? 2 : 1;
	if (!((state >> 5) & 1)) {	/* not compact */
		snprintf(out, cap, "?");
		return;
	}
	if ((size_t)len * width > sizeof raw)
		len = (int64_t)(sizeof raw / width);
	if (!rd(pid, obj + (((state >> 6) & 1) ? STR_ASCII_DATA : STR_COMPACT_DATA), raw,
		(size_t)len * width))
		return;
	for (i = 0; i < (size_t)len && o + 5 < cap; i++) {
		cp = width == 1 ? raw[i] : width == 2 ? (uint32_t)(raw[2 * i] | raw[2 * i + 1] << 8) :
		     (uint32_t)(raw[4 * i] | raw[4 * i + 1] << 8 | raw[4 * i + 2] << 16 |
				raw[4 * i + 3] << 24);
		if (cp < 0x80) {
			out[o++] = (char)cp;
		} else if (cp < 0x800) {
			out[o++] = (char)(0xc0 | cp >> 6);
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[o++] = (char)(0xe0 | cp >> 12);
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | cp >> 18);
			out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	out[o] = '\0';
}

static unsigned varint(const unsigned char **p, const unsigned char *end)
{
	unsigned val, shift = 0, read;

	if (*p >= end)
		return 0;
	read = *(*p)++;
	val = read & 63;
	while ((read & 64) && *p < end && shift < 24) {
		read = *(*p)++;
		shift += 6;
		val |= (read & 63) << shift;
	}
	return val;
}

static int svarint(const unsigned char **p, const unsigned char *end)
{
	unsigned v = varint(p, end);

	return (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
}

/* CPython 3.11's PyCode_Addr2Line over the location table
 * (Objects/locations.md): entries start with a byte 1CCCCLLL, code C,
 * length L+1 code units. */
int mt_py_addr2line(const unsigned char *table, size_t len, int firstlineno, int addr)
{
	const unsigned char *p = table, *end = table + len, *q;
	int line = firstlineno, start = 0, code, delta;

	if (addr < 0)
		return firstlineno;
	while (p < end) {
		code = (*p >> 3) & 15;
		start += ((*p & 7) + 1) * 2;
		q = p + 1;
		switch (code) {
		case 13:
		case 14:
			delta = svarint(&q, end);
			break;
		case 11:
			delta = 1;
			break;
		case 12:
			delta = 2;
			break;
		default:
			delta = 0;
		}
		line += delta;
		if (start > addr)
			return code == 15 ? -1 : line;
		do
			p++;
		while (p < end && !(*p & 128));
	}
	return -1;
}

static void rd_frame(pid_t pid, uint64_t frame, struct mt_pyframe *f)
{
	static unsigned char table[LINETABLE_MAX];
	uint64_t code = rd_ptr(pid, frame + FRAME_CODE);
	uint64_t prev_instr = rd_ptr(pid, frame + FRAME_PREV_INSTR);
	uint64_t lt = rd_ptr(pid, code + CODE_LINETABLE);
	int32_t first = 0;
	int64_t size = 0;

	f->file[0] = f->func[0] = '\0';
	f->line = -1;
	if (!code)
		return;
	rd_str(pid, rd_ptr(pid, code + CODE_FILENAME), f->file, sizeof f->file);
	rd_str(pid, rd_ptr(pid, code + CODE_NAME), f->func, sizeof f->func);
	if (!rd(pid, code + CODE_FIRSTLINENO, &first, sizeof first) ||
	    !rd(pid, lt + VAR_SIZE, &size, sizeof size) || size <= 0 ||
	    size > LINETABLE_MAX || !rd(pid, lt + BYTES_DATA, table, (size_t)size))
		return;
	f->line = mt_py_addr2line(table, (size_t)size, first,
				  (int)(prev_instr - (code + CODE_CODE)));
}

int mt_py_read(pid_t pid, uint64_t interp, long hexversion, struct mt_pythread *out,
	       int max, char *err, size_t errcap)
{
	uint64_t ts, frame;
	int n = 0, walked = 0;

	if (!mt_py_supported(hexversion)) {
		snprintf(err, errcap, "Python %lx.%lx is not read from outside (3.11 only)",
			 (hexversion >> 24) & 0xff, (hexversion >> 16) & 0xff);
		return -1;
	}
	ts = rd_ptr(pid, interp + INTERP_THREADS_HEAD);
	if (!ts) {
		snprintf(err, errcap, "cannot read the interpreter's threads: %s",
			 errno ? strerror(errno) : "no threads");
		return -1;
	}
	for (; ts && n < max && walked++ < MAX_THREADS_WALKED; ts = rd_ptr(pid, ts + TSTATE_NEXT)) {
		struct mt_pythread *t = &out[n++];

		t->native_id = (unsigned long)rd_ptr(pid, ts + TSTATE_NATIVE_ID);
		t->ident = (unsigned long)rd_ptr(pid, ts + TSTATE_THREAD_ID);
		t->nframes = t->truncated = 0;
		frame = rd_ptr(pid, rd_ptr(pid, ts + TSTATE_CFRAME) + CFRAME_CURRENT);
		for (; frame; frame = rd_ptr(pid, frame + FRAME_PREVIOUS)) {
			if (t->nframes == MT_FRAMES_MAX) {
				t->truncated = 1;
				break;
			}
			rd_frame(pid, frame, &t->f[t->nframes++]);
		}
	}
	return n;
}
