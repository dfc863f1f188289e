/* A command-line host around wasm3 with its built-in WASI: `wasm3-run MODULE.wasm ARGS...`
 * runs the module's `_start` with ARGS (MODULE first, as its argv[0]). The guest sees the
 * current directory as its one preopened directory (named "./"). Exit status: the guest's
 * proc_exit status, 134 for a trap (as the wasmtime CLI), 1 if the module cannot be loaded, 2
 * for usage.
 *
 * wasm3's own CLI gets its WASI from uvwasi, which no registry here has; the crate's sources
 * carry only wasm3's simple WASI, which lacks `fd_pread` and `fd_filestat_get` (a guest calling
 * them traps) and two dozen more. wasm3 compiles a function when it is first called, and fails
 * if the function calls an import that is not linked, even on a path not taken; so a module
 * that merely refers to a missing function cannot run. Here `fd_pread` and `fd_filestat_get`
 * are added as preview1 defines them, so that the host reads files as a WASI host does, and
 * every other function the simple WASI lacks answers ENOSYS (`NOSYS` below); the rest is
 * wasm3's own. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "m3_api_defs.h"
#include "m3_api_wasi.h"
#include "m3_env.h"
#include "wasm3.h"

/* Preview1 errno values (those the two functions below return themselves) and file types. */
enum { E_BADF = 8, E_FAULT = 21, E_INVAL = 28, E_IO = 29, E_ISDIR = 31, E_NOMEM = 48, E_SPIPE = 70 };

static uint32_t errno_to_wasi(int e) {
    switch (e) {
    case EBADF: return E_BADF;
    case EINVAL: return E_INVAL;
    case EISDIR: return E_ISDIR;
    case ESPIPE: return E_SPIPE;
    case ENOMEM: return E_NOMEM;
    default: return E_IO;
    }
}

/* Whether guest range [addr, addr + len) lies inside the guest's memory. */
static int in_memory(IM3Runtime runtime, uint64_t addr, uint64_t len) {
    uint32_t size = 0;
    m3_GetMemory(runtime, &size, 0);
    return addr + len <= size;
}

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* fd_pread(fd, iovs, iovs_len, offset: u64, nread) -> errno */
static m3ApiRawFunction(wasi_fd_pread) {
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    m3ApiGetArg(uint32_t, iovs);
    m3ApiGetArg(uint32_t, iovs_len);
    m3ApiGetArg(uint64_t, offset);
    m3ApiGetArg(uint32_t, nread);
    if (!in_memory(runtime, iovs, (uint64_t)iovs_len * 8) || !in_memory(runtime, nread, 4))
        m3ApiReturn(E_FAULT);
    uint64_t total = 0;
    for (uint32_t i = 0; i < iovs_len; i++) {
        uint32_t buf, len;
        memcpy(&buf, (uint8_t *)_mem + iovs + 8 * i, 4);
        memcpy(&len, (uint8_t *)_mem + iovs + 8 * i + 4, 4);
        if (!in_memory(runtime, buf, len)) m3ApiReturn(E_FAULT);
        if (len == 0) continue;
        ssize_t n = pread((int)fd, (uint8_t *)_mem + buf, len, (off_t)(offset + total));
        if (n < 0) m3ApiReturn(errno_to_wasi(errno));
        total += (uint64_t)n;
        if ((uint32_t)n < len) break;
    }
    uint32_t done = (uint32_t)total;
    memcpy((uint8_t *)_mem + nread, &done, 4);
    m3ApiReturn(0);
}

/* fd_filestat_get(fd, buf) -> errno; buf: preview1's 64-byte filestat. */
static m3ApiRawFunction(wasi_fd_filestat_get) {
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    m3ApiGetArg(uint32_t, buf);
    if (!in_memory(runtime, buf, 64)) m3ApiReturn(E_FAULT);
    struct stat st;
    if (fstat((int)fd, &st) != 0) m3ApiReturn(errno_to_wasi(errno));
    uint8_t out[64] = {0};
    put64(out, (uint64_t)st.st_dev);
    put64(out + 8, (uint64_t)st.st_ino);
    out[16] = S_ISBLK(st.st_mode)    ? 1
              : S_ISCHR(st.st_mode)  ? 2
              : S_ISDIR(st.st_mode)  ? 3
              : S_ISREG(st.st_mode)  ? 4
              : S_ISSOCK(st.st_mode) ? 6
              : S_ISLNK(st.st_mode)  ? 7
                                     : 0;
    put64(out + 24, (uint64_t)st.st_nlink);
    put64(out + 32, (uint64_t)st.st_size);
    put64(out + 40, (uint64_t)st.st_atim.tv_sec * 1000000000u + st.st_atim.tv_nsec);
    put64(out + 48, (uint64_t)st.st_mtim.tv_sec * 1000000000u + st.st_mtim.tv_nsec);
    put64(out + 56, (uint64_t)st.st_ctim.tv_sec * 1000000000u + st.st_ctim.tv_nsec);
    memcpy((uint8_t *)_mem + buf, out, 64);
    m3ApiReturn(0);
}

/* The preview1 functions wasm3's simple WASI lacks (besides the two above), with their
 * signatures in wasm3's notation (i: i32, I: i64). */
static const char *const NOSYS[][2] = {
    {"fd_advise", "i(iIIi)"},        {"fd_allocate", "i(iII)"},
    {"fd_fdstat_set_rights", "i(iII)"}, {"fd_filestat_set_size", "i(iI)"},
    {"fd_filestat_set_times", "i(iIIi)"}, {"fd_pwrite", "i(iiiIi)"},
    {"fd_readdir", "i(iiiIi)"},      {"fd_renumber", "i(ii)"},
    {"fd_sync", "i(i)"},             {"fd_tell", "i(ii)"},
    {"path_create_directory", "i(iii)"}, {"path_filestat_get", "i(iiiii)"},
    {"path_filestat_set_times", "i(iiiiIIi)"}, {"path_link", "i(iiiiiii)"},
    {"path_readlink", "i(iiiiii)"},  {"path_remove_directory", "i(iii)"},
    {"path_rename", "i(iiiiii)"},    {"path_symlink", "i(iiiii)"},
    {"path_unlink_file", "i(iii)"},  {"poll_oneoff", "i(iiii)"},
    {"proc_raise", "i(i)"},          {"sched_yield", "i()"},
    {"sock_accept", "i(iii)"},       {"sock_recv", "i(iiiiii)"},
    {"sock_send", "i(iiiii)"},       {"sock_shutdown", "i(ii)"},
};

static m3ApiRawFunction(wasi_nosys) {
    m3ApiReturnType(uint32_t);
    m3ApiReturn(52); /* ENOSYS */
}

/* Links `function` for every import of `name` from either WASI module name; a module that does
 * not import it is fine. */
static M3Result link_wasi(IM3Module module, const char *name, const char *sig, M3RawCall function) {
    static const char *const modules[] = {"wasi_snapshot_preview1", "wasi_unstable"};
    for (int i = 0; i < 2; i++) {
        M3Result r = m3_LinkRawFunction(module, modules[i], name, sig, function);
        if (r && r != m3Err_functionLookupFailed) return r;
    }
    return m3Err_none;
}

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
    if (!result) result = link_wasi(module, "fd_pread", "i(iiiIi)", &wasi_fd_pread);
    if (!result) result = link_wasi(module, "fd_filestat_get", "i(ii)", &wasi_fd_filestat_get);
    for (size_t i = 0; !result && i < sizeof NOSYS / sizeof NOSYS[0]; i++)
        result = link_wasi(module, NOSYS[i][0], NOSYS[i][1], &wasi_nosys);
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
        M3ErrorInfo info;
        m3_GetErrorInfo(runtime, &info);
        fprintf(stderr, "wasm3-run: trap: %s%s%s\n", result, info.message && *info.message ? ": " : "",
                info.message ? info.message : "");
        return 134;
    }
    return 0;
}
