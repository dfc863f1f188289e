/* Force-included into shell.c: declares the chmod stub (wasi-libc's sys/stat.h has none). */
#include <sys/types.h>
int chmod(const char *path, mode_t mode);
int fchmod(int fd, mode_t mode);
