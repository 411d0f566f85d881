/* mtest: native unwinding with libdw, in the capture helper only. */
#include "mtest/unwind.h"

#include <stdio.h>
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

void mt_unwind_symbol(struct mt_nframe *f)
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

void mt_unwind_end(void)
{
	if (dwfl)
		dwfl_end(dwfl);
	dwfl = NULL;
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

void mt_unwind_symbol(struct mt_nframe *f)
{
	f->sym[0] = f->module[0] = f->src[0] = '\0';
}

void mt_unwind_end(void)
{
}

#endif
