/* mtest: runs a pytest suite from the outside and tells the truth about
 * every test. The only place that exits. */
#include <unistd.h>

#include "mtest/base/mem.h"
#include "mtest/cli.h"
#include "mtest/led/daemon.h"
#include "mtest/run/report.h"
#include "mtest/run/run.h"
#include "mtest/selfcheck.h"
#include "mtest/state/quarantine.h"
#include "mtest/sup/super.h"

int main(int argc, char **argv)
{
	static struct mt_opts opts;

	mt_mem_no_huge_pages();	/* before any table is touched */
	if (!mt_cli_parse(&opts, argc, argv))
		return MT_EXIT_USAGE;
	if (opts.help) {
		mt_cli_help();
		return MT_EXIT_OK;
	}
	if (opts.version) {
		static const char v[] = "mtest " MT_VERSION "\n";

		return write(1, v, sizeof v - 1) < 0 ? MT_EXIT_INTERNAL : MT_EXIT_OK;
	}
	if (opts.report)
		return mt_report_main(&opts);
	if (opts.led)
		return mt_led_main(&opts);
	if (opts.history)
		return mt_runs_main(&opts);
	if (opts.quarantine)
		return mt_quar_main(&opts);
	if (opts.self_check)
		return mt_selfcheck_main(&opts);
	if (opts.resume) {
		const struct mt_opts *resumed;
		int code = mt_super_resume(&opts, &resumed);

		return code != MT_EXIT_OK ? code : mt_super_main(resumed);
	}
	return mt_super_main(&opts);
}
