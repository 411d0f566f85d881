/* Prints the places (in 8-byte words) of the _Py_DebugOffsets fields that
 * src/watch/pyframes.c reads from a 3.13 worker's _PyRuntime. Needs 3.13's
 * headers: gcc -I/usr/include/python3.13 tools/py313-debugoffsets.c && ./a.out */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include "internal/pycore_runtime.h"
#define P(f) printf("%-40s %zu\n", #f, offsetof(_Py_DebugOffsets, f) / 8)
int main(void) {
	P(version); P(free_threaded); P(interpreter_state.threads_head); P(thread_state.next);
	P(thread_state.current_frame); P(thread_state.thread_id); P(thread_state.native_thread_id);
	P(interpreter_frame.previous); P(interpreter_frame.executable); P(interpreter_frame.instr_ptr);
	P(interpreter_frame.owner); P(code_object.filename); P(code_object.name); P(code_object.linetable);
	P(code_object.firstlineno); P(code_object.co_code_adaptive); P(bytes_object.ob_size);
	P(bytes_object.ob_sval); P(unicode_object.state); P(unicode_object.length);
	P(unicode_object.asciiobject_size);
	printf("words %zu compact %zu ascii %zu\n", sizeof(_Py_DebugOffsets) / 8, sizeof(PyCompactUnicodeObject), sizeof(PyASCIIObject));
	return 0;
}
