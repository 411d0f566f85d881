/* libFuzzer target: the config file (cli.c). The input is the file's
 * bytes, taken as conf_load takes them: at most 65535, NUL-terminated, in
 * a buffer of exactly that size (AddressSanitizer sees a byte past it).
 * Run with -close_fd_mask=2: a bad file's message goes to stderr. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtest/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size < 65535 ? size : 65535;
	char *text = malloc(n + 1);

	if (!text)
		abort();
	memcpy(text, data, n);
	text[n] = '\0';
	mt_cli_parse_config(text, "/etc/mtest/mtest.conf");
	free(text);
	return 0;
}
