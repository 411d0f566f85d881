/* Unit tests: files for the tests of the state directory's stores. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suites.h"

void unit_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

void unit_each_moved_aside(const char *path, const char *const *bad, unsigned n,
			   int (*load)(const char *path))
{
	char aside[512];
	struct stat st;
	unsigned k;

	snprintf(aside, sizeof aside, "%s.corrupt", path);
	for (k = 0; k < n; k++) {
		unit_write_file(path, bad[k]);
		ck_assert_msg(!load(path), "case %u loaded", k);
		ck_assert_int_eq(stat(path, &st), -1);
		ck_assert_int_eq(stat(aside, &st), 0);
		unlink(aside);
	}
}
