/* A C program as a WASI preview 2 component: built for preview 1 with Debian's clang and
 * wasi-libc, made a component by the Rust toolchain's wasm-component-ld with its preview-1
 * adapter (tests/components/build-c.sh). Arguments, environment, a file, a clock, stderr and
 * an exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
int main(int argc, char **argv) {
    printf("argc %d\n", argc);
    for (int i = 1; i < argc; i++) printf("arg %s\n", argv[i]);
    const char *g = getenv("GREETING");
    printf("GREETING=%s\n", g ? g : "(unset)");
    FILE *f = fopen("c-out.txt", "w");
    if (!f) { perror("fopen"); return 2; }
    fprintf(f, "written by C\n");
    fclose(f);
    char buf[64] = {0};
    f = fopen("c-out.txt", "r");
    fgets(buf, sizeof buf, f);
    fclose(f);
    printf("read back: %s", buf);
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("clock ok %d\n", ts.tv_sec >= 0);
    fprintf(stderr, "to stderr from C\n");
    return argc > 2 ? 7 : 0;
}
