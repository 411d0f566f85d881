/* Prints the CPython 3.11 offsets that src/watch/pyframes.c uses. Needs
 * python3.11-dev: gcc -I/usr/include/python3.11 tools/py311-offsets.c && ./a.out
 * Run on the target: the 32-bit ARM table came from an armhf Debian 12
 * root (tools/debian-root armhf, then this in a chroot there). */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#define P(s, f) printf("%-40s %zu\n", #s "." #f, offsetof(s, f))
int main(void) {
	P(PyInterpreterState, threads.head);
	P(PyThreadState, next);
	P(PyThreadState, interp);
	P(PyThreadState, cframe);
	P(PyThreadState, thread_id);
	P(PyThreadState, native_thread_id);
	P(_PyCFrame, current_frame);
	P(_PyInterpreterFrame, f_code);
	P(_PyInterpreterFrame, previous);
	P(_PyInterpreterFrame, prev_instr);
	P(_PyInterpreterFrame, owner);
	P(PyCodeObject, co_firstlineno);
	P(PyCodeObject, co_filename);
	P(PyCodeObject, co_name);
	P(PyCodeObject, co_qualname);
	P(PyCodeObject, co_linetable);
	P(PyCodeObject, co_code_adaptive);
	P(PyBytesObject, ob_sval);
	P(PyVarObject, ob_size);
	P(PyASCIIObject, length);
	P(PyASCIIObject, state);
	printf("sizeof PyASCIIObject %zu\nsizeof PyCompactUnicodeObject %zu\n", sizeof(PyASCIIObject), sizeof(PyCompactUnicodeObject));
	P(_PyRuntimeState, interpreters.head);
	P(_PyRuntimeState, interpreters.main);
	return 0;
}
