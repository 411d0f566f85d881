/* mtest: CPython stacks from outside. 3.11's offsets were taken from its
 * headers (tools/py311-offsets.c prints them) and are the same on x86_64
 * and aarch64, and derived on the target for 32-bit ARM; 3.13 publishes its
 * own in _PyRuntime (_Py_DebugOffsets),
 * read from the worker, so that a 3.13.x release needs nothing new. */
#include "mtest/watch/pyframes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

enum { MAX_THREADS_WALKED = 4096, LINETABLE_MAX = 65536, OWNED_BY_CSTACK = 3, NO_FIELD = -1 };

/* Where things are in one CPython build: offsets in bytes. */
struct layout {
	unsigned ptr;			/* the target's pointer size */
	long interp_threads_head, ts_next, ts_frame, ts_thread_id, ts_native_id;
	long cframe_current;		/* 3.11: ts_frame is a _PyCFrame; else NO_FIELD */
	long frame_code, frame_previous, frame_instr, frame_owner, frame_localsplus;
	long code_firstlineno, code_filename, code_name, code_linetable, code_code;
	long var_size, bytes_data, str_length, str_state, str_ascii_data, str_compact_data;
};

#if !defined(__arm__)
/* CPython 3.11, LP64. */
static const struct layout py311_lp64 = {
	.ptr = 8, .interp_threads_head = 16, .ts_next = 8, .ts_frame = 56,
	.ts_thread_id = 152, .ts_native_id = 160, .cframe_current = 8,
	.frame_code = 32, .frame_previous = 48, .frame_instr = 56, .frame_owner = NO_FIELD,
	.frame_localsplus = 72,
	.code_firstlineno = 72, .code_filename = 112, .code_name = 120, .code_linetable = 136,
	.code_code = 184, .var_size = 16, .bytes_data = 32, .str_length = 16, .str_state = 32,
	.str_ascii_data = 48, .str_compact_data = 72,
};
#else

/* CPython 3.11 on 32-bit ARM (EABI, armhf), as tools/py311-offsets.c
 * printed them in a Debian 12 armhf root (tools/check-arm). */
static const struct layout py311_ilp32_arm = {
	.ptr = 4, .interp_threads_head = 16, .ts_next = 4, .ts_frame = 40,
	.ts_thread_id = 88, .ts_native_id = 92, .cframe_current = 4,
	.frame_code = 16, .frame_previous = 24, .frame_instr = 28, .frame_owner = NO_FIELD,
	.frame_localsplus = 40,
	.code_firstlineno = 48, .code_filename = 80, .code_name = 84, .code_linetable = 92,
	.code_code = 116, .var_size = 8, .bytes_data = 16, .str_length = 8, .str_state = 16,
	.str_ascii_data = 24, .str_compact_data = 36,
};
#endif

/* The 3.11 layout of this build's own ABI (workers are of mtest's
 * architecture), or NULL. */
static const struct layout *py311(void)
{
#if defined(__arm__)
	return &py311_ilp32_arm;
#else
	return sizeof(void *) == 8 ? &py311_lp64 : NULL;
#endif
}

int mt_py_supported(long hexversion)
{
	long v = hexversion >> 16;

	return (v == 0x030b && py311()) || v == 0x030d;
}

static int rd(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)addr, n };

	return addr && process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)n;
}

/* A pointer or a Py_ssize_t of the target's width. */
static uint64_t rd_word(pid_t pid, const struct layout *L, uint64_t addr)
{
	uint64_t v = 0;
	uint32_t v32 = 0;

	if (L->ptr == 4)
		return rd(pid, addr, &v32, sizeof v32) ? v32 : 0;
	return rd(pid, addr, &v, sizeof v) ? v : 0;
}

/* A str object into UTF-8 (compact strings only, which code objects'
 * names always are). */
static void rd_str(pid_t pid, const struct layout *L, uint64_t obj, char *out, size_t cap)
{
	int64_t len;
	uint32_t state = 0, kind, cp;
	unsigned char raw[1024];
	size_t i, o = 0, width;

	out[0] = '\0';
	len = (int64_t)rd_word(pid, L, obj + (uint64_t)L->str_length);
	if (!obj || !rd(pid, obj + (uint64_t)L->str_state, &state, sizeof state) || len < 0 ||
	    len > 1 << 20)
		return;
	kind = (state >> 2) & 7;
	width = kind == 4 ? 4 : kind == 2 ? 2 : 1;
	if (!((state >> 5) & 1)) {	/* not compact */
		snprintf(out, cap, "?");
		return;
	}
	if ((size_t)len * width > sizeof raw)
		len = (int64_t)(sizeof raw / width);
	if (!rd(pid, obj + (uint64_t)(((state >> 6) & 1) ? L->str_ascii_data : L->str_compact_data), raw,
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

static void rd_frame(pid_t pid, const struct layout *L, uint64_t frame, struct mt_pyframe *f)
{
	static unsigned char table[LINETABLE_MAX];
	uint64_t code = rd_word(pid, L, frame + (uint64_t)L->frame_code);
	uint64_t instr = rd_word(pid, L, frame + (uint64_t)L->frame_instr);
	uint64_t lt = rd_word(pid, L, code + (uint64_t)L->code_linetable);
	uint64_t size = rd_word(pid, L, lt + (uint64_t)L->var_size);
	int32_t first = 0;

	f->file[0] = f->func[0] = '\0';
	f->line = -1;
	if (!code)
		return;
	rd_str(pid, L, rd_word(pid, L, code + (uint64_t)L->code_filename), f->file, sizeof f->file);
	rd_str(pid, L, rd_word(pid, L, code + (uint64_t)L->code_name), f->func, sizeof f->func);
	if (!rd(pid, code + (uint64_t)L->code_firstlineno, &first, sizeof first) || !lt ||
	    size == 0 || size > LINETABLE_MAX ||
	    !rd(pid, lt + (uint64_t)L->bytes_data, table, (size_t)size))
		return;
	f->line = mt_py_addr2line(table, (size_t)size, first,
				  (int)(instr - (code + (uint64_t)L->code_code)));
}

/* 3.13's own offsets, from _Py_DebugOffsets at the start of _PyRuntime
 * (Include/internal/pycore_runtime.h): the fields we use, by their place
 * in that struct of uint64_t, the 8-byte cookie being word 0. */
enum {
	DO_VERSION = 1, DO_FREE_THREADED = 2,
	DO_INTERP = 6,		/* interpreter_state: size, id, next, threads_head, ... */
	DO_TSTATE = 19,		/* thread_state: size, prev, next, interp, current_frame,
				   thread_id, native_thread_id, ... */
	DO_FRAME = 28,		/* interpreter_frame: size, previous, executable,
				   instr_ptr, localsplus, owner */
	DO_CODE = 34,		/* code_object: size, filename, name, qualname, linetable,
				   firstlineno, argcount, localsplusnames, localspluskinds,
				   co_code_adaptive */
	DO_BYTES = 64,		/* bytes_object: size, ob_size, ob_sval */
	DO_UNICODE = 67,	/* unicode_object: size, state, length, asciiobject_size */
	DO_WORDS = 73,		/* the whole struct (tools/py313-debugoffsets.c prints
				   these places from 3.13's header) */
};

static int layout_313(pid_t pid, uint64_t runtime, struct layout *L, char *err, size_t errcap)
{
	uint64_t w[DO_WORDS];

	if (!runtime || !rd(pid, runtime, w, sizeof w)) {
		snprintf(err, errcap, "cannot read _Py_DebugOffsets in _PyRuntime: %s",
			 runtime ? strerror(errno) : "the plugin did not say where it is");
		return 0;
	}
	if (memcmp(w, "xdebugpy", 8) != 0 || (w[DO_VERSION] >> 16) != 0x030d) {
		snprintf(err, errcap, "_PyRuntime holds no 3.13 _Py_DebugOffsets (cookie or version "
			 "%#llx wrong)", (unsigned long long)w[DO_VERSION]);
		return 0;
	}
	*L = (struct layout){
		.ptr = sizeof(void *),
		.interp_threads_head = (long)w[DO_INTERP + 3],
		.ts_next = (long)w[DO_TSTATE + 2], .ts_frame = (long)w[DO_TSTATE + 4],
		.ts_thread_id = (long)w[DO_TSTATE + 5], .ts_native_id = (long)w[DO_TSTATE + 6],
		.cframe_current = NO_FIELD,
		.frame_previous = (long)w[DO_FRAME + 1], .frame_code = (long)w[DO_FRAME + 2],
		.frame_instr = (long)w[DO_FRAME + 3], .frame_owner = (long)w[DO_FRAME + 5],
		.frame_localsplus = (long)w[DO_FRAME + 4],
		.code_filename = (long)w[DO_CODE + 1], .code_name = (long)w[DO_CODE + 2],
		.code_linetable = (long)w[DO_CODE + 4], .code_firstlineno = (long)w[DO_CODE + 5],
		.code_code = (long)w[DO_CODE + 9],
		.var_size = (long)w[DO_BYTES + 1], .bytes_data = (long)w[DO_BYTES + 2],
		.str_state = (long)w[DO_UNICODE + 1], .str_length = (long)w[DO_UNICODE + 2],
		.str_ascii_data = (long)w[DO_UNICODE + 3],
		/* PyCompactUnicodeObject: the ASCII header, utf8_length, utf8. */
		.str_compact_data = (long)(w[DO_UNICODE + 3] + 2 * sizeof(void *)),
	};
	return 1;
}

int mt_py_read(pid_t pid, uint64_t interp, uint64_t runtime, long hexversion,
	       struct mt_pythread *out, int max, char *err, size_t errcap)
{
	struct layout L313;
	const struct layout *L = py311();
	uint64_t ts, frame;
	int n = 0, walked = 0;
	unsigned char owner;

	if (!mt_py_supported(hexversion)) {
		snprintf(err, errcap, "Python %ld.%ld is not read from outside (3.11 and 3.13 only)",
			 (hexversion >> 24) & 0xff, (hexversion >> 16) & 0xff);
		return -1;
	}
	if ((hexversion >> 16) == 0x030d) {
		if (!layout_313(pid, runtime, &L313, err, errcap))
			return -1;
		L = &L313;
	}
	ts = rd_word(pid, L, interp + (uint64_t)L->interp_threads_head);
	if (!ts) {
		snprintf(err, errcap, "cannot read the interpreter's threads: %s",
			 errno ? strerror(errno) : "no threads");
		return -1;
	}
	for (; ts && n < max && walked++ < MAX_THREADS_WALKED;
	     ts = rd_word(pid, L, ts + (uint64_t)L->ts_next)) {
		struct mt_pythread *t = &out[n++];

		t->native_id = (unsigned long)rd_word(pid, L, ts + (uint64_t)L->ts_native_id);
		t->ident = (unsigned long)rd_word(pid, L, ts + (uint64_t)L->ts_thread_id);
		t->nframes = t->truncated = 0;
		t->frame = 0;
		frame = rd_word(pid, L, ts + (uint64_t)L->ts_frame);
		if (L->cframe_current != NO_FIELD)
			frame = rd_word(pid, L, frame + (uint64_t)L->cframe_current);
		for (; frame; frame = rd_word(pid, L, frame + (uint64_t)L->frame_previous)) {
			/* 3.12+: the C stack's entry frames hold no code. */
			if (L->frame_owner != NO_FIELD &&
			    rd(pid, frame + (uint64_t)L->frame_owner, &owner, 1) &&
			    owner == OWNED_BY_CSTACK)
				continue;
			if (t->nframes == MT_FRAMES_MAX) {
				t->truncated = 1;
				break;
			}
			if (!t->frame)
				t->frame = frame;
			rd_frame(pid, L, frame, &t->f[t->nframes++]);
		}
	}
	return n;
}

/* An object's type, and what a method bound to it holds (a bound method's
 * im_self and a builtin method's m_self both come after the head and the
 * function). */
#define OB_TYPE(L) ((uint64_t)(L)->ptr)
#define BOUND_SELF(L) (3 * (uint64_t)(L)->ptr)

int mt_py_rlock(pid_t pid, uint64_t runtime, long hexversion, uint64_t frame, uint64_t rlock_type,
		unsigned long futex, uint64_t self_ident, struct mt_pyrlock *out)
{
	struct layout L313;
	const struct layout *L = py311();
	char err[128];
	uint64_t code, slot, obj, seen[8] = { 0 };
	int32_t nlocals = 0, stack = 0;
	int i, n, k, nseen = 0, found = 0, parked = (hexversion >> 16) >= 0x030d;

	memset(out, 0, sizeof *out);
	if (!frame || !rlock_type || !mt_py_supported(hexversion))
		return 0;
	if (parked) {
		if (!layout_313(pid, runtime, &L313, err, sizeof err))
			return 0;
		L = &L313;
	}
	/* The frame's slots: co_nlocalsplus locals, then co_stacksize of
	 * stack (both ints beside co_firstlineno in 3.11 and 3.13 alike). */
	code = rd_word(pid, L, frame + (uint64_t)L->frame_code);
	if (!code || !rd(pid, code + (uint64_t)L->code_firstlineno - 4, &stack, sizeof stack) ||
	    !rd(pid, code + (uint64_t)L->code_firstlineno + 4, &nlocals, sizeof nlocals))
		return 0;
	n = nlocals + stack;
	if (nlocals < 0 || stack < 0 || n > 512)
		return 0;
	for (i = 0; i < n; i++) {
		slot = rd_word(pid, L, frame + (uint64_t)L->frame_localsplus + (uint64_t)i * L->ptr);
		if (!slot || slot % L->ptr)
			continue;
		obj = rd_word(pid, L, slot + OB_TYPE(L)) == rlock_type ? slot : 0;
		if (!obj) {
			uint64_t self = rd_word(pid, L, slot + BOUND_SELF(L));

			if (self && !(self % L->ptr) && rd_word(pid, L, self + OB_TYPE(L)) == rlock_type)
				obj = self;
		}
		for (k = 0; obj && k < nseen; k++)
			if (seen[k] == obj)
				obj = 0;
		if (!obj || nseen == 8)
			continue;
		seen[nseen++] = obj;
		/* rlockobject: the head, its lock, owner, count. */
		{
			uint64_t lock = rd_word(pid, L, obj + 2 * (uint64_t)L->ptr);
			uint64_t owner = rd_word(pid, L, obj + 3 * (uint64_t)L->ptr);
			uint64_t count = rd_word(pid, L, obj + 4 * (uint64_t)L->ptr);

			if (!count || owner == self_ident || (!parked && lock != futex))
				continue;
			if (found++)
				return 0;	/* two candidates: not known */
			out->addr = obj;
			out->owner = owner;
			out->count = (unsigned long)count;
		}
	}
	return found == 1;
}
