/* mtest: native unwinding with libdw, in the capture helper only. */
#include "mtest/watch/unwind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MT_HAVE_LIBDW
#include <elfutils/libdwfl.h>

static Dwfl *dwfl;
static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

const char *mt_unwind_backend(void)
{
	return "libdw";
}

int mt_unwind_begin(pid_t pid, char *err, size_t cap)
{
	dwfl = dwfl_begin(&callbacks);
	if (!dwfl || dwfl_linux_proc_report(dwfl, pid) != 0 ||
	    dwfl_report_end(dwfl, NULL, NULL) != 0) {
		snprintf(err, cap, "libdw: %s", dwfl_errmsg(-1));
		mt_unwind_end();
		return 0;
	}
	return 1;
}

int mt_unwind_attach(pid_t pid, char *err, size_t cap)
{
	/* The threads are stopped already: libdw must neither attach nor
	 * detach them (assume_ptrace_stopped). */
	if (!dwfl || dwfl_linux_proc_attach(dwfl, pid, true) != 0) {
		snprintf(err, cap, "libdw attach: %s", dwfl ? dwfl_errmsg(-1) : "not begun");
		return 0;
	}
	return 1;
}

struct collect {
	struct mt_nframe *out;
	int n, max;
};

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct collect *c = arg;
	Dwarf_Addr pc;
	bool activation;

	if (c->n >= c->max || !dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	memset(&c->out[c->n], 0, sizeof c->out[0]);
	c->out[c->n].pc = pc;
	c->out[c->n].activation = activation;
	c->n++;
	return DWARF_CB_OK;
}

int mt_unwind_pcs(pid_t tid, struct mt_nframe *out, int max)
{
	struct collect c = { out, 0, max };

	if (!dwfl)
		return 0;
	/* A partial stack (-1 with frames) is still worth showing. */
	dwfl_getthread_frames(dwfl, tid, on_frame, &c);
	return c.n;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void lookup(struct mt_nframe *f)
{
	/* A return address points after the call: look up the call. */
	Dwarf_Addr pc = f->activation ? f->pc : f->pc - 1;
	Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, pc) : NULL;
	const char *name, *src;
	Dwarf_Addr start = 0;
	GElf_Off off = 0;
	GElf_Sym sym;
	Dwfl_Line *line;
	int lineno = 0;

	f->sym[0] = f->module[0] = f->src[0] = '\0';
	f->line = 0;
	f->off = 0;
	if (!mod)
		return;
	name = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	snprintf(f->module, sizeof f->module, "%s", name ? base(name) : "?");
	f->off = pc - start;
	name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
	if (name) {
		snprintf(f->sym, sizeof f->sym, "%s", name);
		f->off = off;
	}
	line = dwfl_module_getsrc(mod, pc);
	if (line && (src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL))) {
		snprintf(f->src, sizeof f->src, "%s", base(src));
		f->line = lineno;
	}
}

static void end_backend(void)
{
	if (dwfl)
		dwfl_end(dwfl);
	dwfl = NULL;
}

#elif defined(MT_HAVE_LIBUNWIND)
/* libunwind reads ARM's EHABI tables (.ARM.exidx), which libdw does not:
 * the unwinder for armhf. Names come from the nearest symbol, and are
 * looked up while the thread is stopped (libunwind reads its memory). */
#include <fcntl.h>
#include <libunwind-ptrace.h>
#include <stdlib.h>

#include "mtest/base/fsx.h"

#define MAPS_MAX 1024

static unw_addr_space_t as;
static struct { uint64_t lo, hi; char name[96]; } maps[MAPS_MAX];
static int nmaps;

const char *mt_unwind_backend(void)
{
	return "libunwind";
}

/* Executable mappings from /proc/PID/maps, for module names. */
static void read_maps(pid_t pid)
{
	static char text[1 << 18];
	char path[64], *line, *next, *name;
	unsigned long long lo, hi;
	char perms[8];

	nmaps = 0;
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	if (mt_read_file(path, text, sizeof text) <= 0)
		return;
	for (line = text; line && *line && nmaps < MAPS_MAX; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3 || perms[2] != 'x')
			continue;
		name = strchr(line, '/');
		maps[nmaps].lo = lo;
		maps[nmaps].hi = hi;
		snprintf(maps[nmaps].name, sizeof maps[nmaps].name, "%s",
			 name ? (strrchr(name, '/') + 1) : "?");
		nmaps++;
	}
}

int mt_unwind_begin(pid_t pid, char *err, size_t cap)
{
	as = unw_create_addr_space(&_UPT_accessors, 0);
	if (!as) {
		snprintf(err, cap, "libunwind: cannot create an address space");
		return 0;
	}
	unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
	read_maps(pid);
	return 1;
}

int mt_unwind_attach(pid_t pid, char *err, size_t cap)
{
	(void)pid;
	if (!as)
		snprintf(err, cap, "libunwind: not begun");
	return as != NULL;
}

int mt_unwind_pcs(pid_t tid, struct mt_nframe *out, int max)
{
	void *ui = _UPT_create(tid);
	unw_cursor_t c;
	unw_word_t ip, off;
	int n = 0;

	if (!ui || !as)
		return 0;
	if (unw_init_remote(&c, as, ui) == 0) {
		do {
			if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0)
				break;
			memset(&out[n], 0, sizeof out[n]);
			out[n].pc = ip;
			out[n].activation = n == 0;
			if (unw_get_proc_name(&c, out[n].sym, sizeof out[n].sym, &off) == 0)
				out[n].off = off;
			else
				out[n].sym[0] = '\0';
			n++;
		} while (n < max && unw_step(&c) > 0);
	}
	_UPT_destroy(ui);
	return n;
}

static void lookup(struct mt_nframe *f)
{
	int i;

	for (i = 0; i < nmaps; i++)
		if (f->pc >= maps[i].lo && f->pc < maps[i].hi) {
			snprintf(f->module, sizeof f->module, "%s", maps[i].name);
			if (!f->sym[0])
				f->off = f->pc - maps[i].lo;
			return;
		}
	snprintf(f->module, sizeof f->module, "?");
}

static void end_backend(void)
{
	if (as)
		unw_destroy_addr_space(as);
	as = NULL;
}

#else	/* no unwinder in this build */

const char *mt_unwind_backend(void)
{
	return "none";
}

int mt_unwind_begin(pid_t pid, char *err, size_t cap)
{
	(void)pid;
	snprintf(err, cap, "this mtest was built without a native unwinder");
	return 0;
}

int mt_unwind_attach(pid_t pid, char *err, size_t cap)
{
	return mt_unwind_begin(pid, err, cap);
}

int mt_unwind_pcs(pid_t tid, struct mt_nframe *out, int max)
{
	(void)tid;
	(void)out;
	(void)max;
	return 0;
}

static void lookup(struct mt_nframe *f)
{
	f->sym[0] = f->module[0] = f->src[0] = '\0';
}

static void end_backend(void)
{
}

#endif

/* ---- every backend ------------------------------------------------------ */

/* Threads of one process share most of their frames: symbolise each
 * address once. */
#define CACHE_SIZE 4096
static struct mt_nframe *cache;	/* the helper's heap: this runs only there */
static unsigned char cached[CACHE_SIZE];

void mt_unwind_symbol(struct mt_nframe *f)
{
	unsigned h = (unsigned)((f->pc * 0x9e3779b97f4a7c15ULL) >> 52) & (CACHE_SIZE - 1);

	if (!cache && !(cache = calloc(CACHE_SIZE, sizeof *cache))) {
		lookup(f);
		return;
	}
	if (cached[h] && cache[h].pc == f->pc && cache[h].activation == f->activation) {
		*f = cache[h];
		return;
	}
	lookup(f);
	cache[h] = *f;
	cached[h] = 1;
}

void mt_unwind_end(void)
{
	end_backend();
	memset(cached, 0, sizeof cached);	/* addresses mean nothing elsewhere */
}
