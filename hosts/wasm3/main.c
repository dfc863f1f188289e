/* A command-line host around wasm3 with its built-in WASI: `wasm3-run MODULE.wasm ARGS...`
 * runs the module's `_start` with ARGS (MODULE first, as its argv[0]). The guest sees the
 * current directory as its one preopened directory. Exit status: the guest's proc_exit status,
 * 134 for a trap (as the wasmtime CLI), 1 if the module cannot be loaded, 2 for usage. */
#include <stdio.h>
#include <stdlib.h>

#include "m3_api_wasi.h"
#include "m3_env.h"
#include "wasm3.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: wasm3-run MODULE.wasm [ARGS...]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *wasm = malloc(len > 0 ? len : 1);
    if (!wasm || fread(wasm, 1, len, f) != (size_t)len) {
        fprintf(stderr, "wasm3-run: %s: cannot read\n", argv[1]);
        return 1;
    }
    fclose(f);
    IM3Environment env = m3_NewEnvironment();
    IM3Runtime runtime = m3_NewRuntime(env, 1024 * 1024, NULL);
    IM3Module module;
    M3Result result = m3_ParseModule(env, &module, wasm, len);
    if (!result) result = m3_LoadModule(runtime, module);
    if (!result) result = m3_LinkWASI(module);
    IM3Function start = NULL;
    if (!result) result = m3_FindFunction(&start, runtime, "_start");
    if (result) {
        fprintf(stderr, "wasm3-run: %s: %s\n", argv[1], result);
        return 1;
    }
    result = m3_CallWithArgs(start, argc - 1, (const char *const *)(argv + 1));
    fflush(stdout);
    if (result == m3Err_trapExit) return runtime->exit_code;
    if (result) {
        fprintf(stderr, "wasm3-run: trap: %s\n", result);
        return 134;
    }
    return 0;
}
