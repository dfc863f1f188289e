/* A WASI command that traps (issue 14, principle 10): it prints a line to stdout and one to
 * stderr, then calls abort(), which wasi-libc ends with an `unreachable` instruction. Run
 * directly, each host reports the trap its own way and exits as it does for a trap (wasmtime
 * 134); through chiwawa-rt.wasm the host must end the same way, after chiwawa's own
 * `error: trap: unreachable in ...` line. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  printf("%s: %d arguments, about to abort\n", argv[0], argc);
  fflush(stdout);
  fputs("abort.c: calling abort()\n", stderr);
  abort();
}
