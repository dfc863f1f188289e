/* wasi-libc has no chmod/fchmod; SQLite's unix VFS and shell reference them (for permissions
 * of new files, which WASI preview1 cannot express). Fail the way an unsupported call does. */
#include <errno.h>
#include <sys/stat.h>

int chmod(const char *path, mode_t mode) {
  (void)path;
  (void)mode;
  errno = ENOSYS;
  return -1;
}

int fchmod(int fd, mode_t mode) {
  (void)fd;
  (void)mode;
  errno = ENOSYS;
  return -1;
}
