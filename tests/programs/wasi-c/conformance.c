/* WASI preview1 conformance program in C: calls the `wasi_snapshot_preview1` functions directly
 * (wasi/api.h) and prints what came back, deterministically: errno names, sizes, file types and
 * contents, never timestamps, inode numbers or random bytes. Run it in an otherwise empty
 * directory preopened as "." with stdin from a file; it exits with status 7 via proc_exit.
 * The same output through chiwawa as directly on a host is the test; hosts may differ among
 * themselves (e.g. in which errno an unsupported call gives). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

/* wasi-libc hides proc_raise (its signal emulation does not call the host); import it. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
__wasi_errno_t raw_proc_raise(uint8_t sig);

#define DIR_FD 3 /* the first preopen */

static const char *errname(__wasi_errno_t e) {
  switch (e) {
  case __WASI_ERRNO_SUCCESS: return "ok";
  case __WASI_ERRNO_2BIG: return "E2BIG";
  case __WASI_ERRNO_ACCES: return "EACCES";
  case __WASI_ERRNO_BADF: return "EBADF";
  case __WASI_ERRNO_EXIST: return "EEXIST";
  case __WASI_ERRNO_FAULT: return "EFAULT";
  case __WASI_ERRNO_INVAL: return "EINVAL";
  case __WASI_ERRNO_IO: return "EIO";
  case __WASI_ERRNO_ISDIR: return "EISDIR";
  case __WASI_ERRNO_LOOP: return "ELOOP";
  case __WASI_ERRNO_NAMETOOLONG: return "ENAMETOOLONG";
  case __WASI_ERRNO_NOENT: return "ENOENT";
  case __WASI_ERRNO_NOSYS: return "ENOSYS";
  case __WASI_ERRNO_NOTDIR: return "ENOTDIR";
  case __WASI_ERRNO_NOTEMPTY: return "ENOTEMPTY";
  case __WASI_ERRNO_NOTSOCK: return "ENOTSOCK";
  case __WASI_ERRNO_NOTSUP: return "ENOTSUP";
  case __WASI_ERRNO_PERM: return "EPERM";
  case __WASI_ERRNO_SPIPE: return "ESPIPE";
  case __WASI_ERRNO_NOTCAPABLE: return "ENOTCAPABLE";
  default: {
    static char buf[32];
    snprintf(buf, sizeof buf, "errno %u", (unsigned)e);
    return buf;
  }
  }
}

static const char *typename(__wasi_filetype_t t) {
  switch (t) {
  case __WASI_FILETYPE_UNKNOWN: return "unknown";
  case __WASI_FILETYPE_BLOCK_DEVICE: return "block";
  case __WASI_FILETYPE_CHARACTER_DEVICE: return "char";
  case __WASI_FILETYPE_DIRECTORY: return "dir";
  case __WASI_FILETYPE_REGULAR_FILE: return "file";
  case __WASI_FILETYPE_SOCKET_DGRAM: return "dgram";
  case __WASI_FILETYPE_SOCKET_STREAM: return "stream";
  case __WASI_FILETYPE_SYMBOLIC_LINK: return "symlink";
  default: return "?";
  }
}

/* Prints one call's errno. */
#define SHOW(what, call) printf("%-34s %s\n", what, errname(call))

static void write_all(__wasi_fd_t fd, const char *s) {
  __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
  __wasi_size_t n;
  (void)__wasi_fd_write(fd, &iov, 1, &n);
}

/* The rights a path_open may ask for: what the preopen passes on (as wasi-libc does; a host
 * refuses more, e.g. node with ENOTCAPABLE). */
static __wasi_rights_t inheritable(void) {
  __wasi_fdstat_t st;
  if (__wasi_fd_fdstat_get(DIR_FD, &st) != 0) return 0;
  return st.fs_rights_inheriting;
}

static __wasi_errno_t open_at(const char *path, __wasi_oflags_t oflags, __wasi_fdflags_t fdflags,
                              __wasi_fd_t *fd) {
  const __wasi_rights_t rights = inheritable();
  return __wasi_path_open(DIR_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags, rights, rights,
                          fdflags, fd);
}

/* Directories are opened with directory rights only: a host may refuse write rights (EISDIR). */
static __wasi_errno_t open_dir(const char *path, __wasi_fd_t *fd) {
  const __wasi_rights_t inheriting = inheritable();
  const __wasi_rights_t base = inheriting & (__WASI_RIGHTS_FD_READDIR |
                                             __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_PATH_OPEN);
  return __wasi_path_open(DIR_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path,
                          __WASI_OFLAGS_DIRECTORY, base, inheriting, 0, fd);
}

static void show_filestat(const char *what, const __wasi_filestat_t *st) {
  printf("%-34s type=%s size=%llu nlink=%llu\n", what, typename(st->filetype),
         (unsigned long long)st->size, (unsigned long long)st->nlink);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists a directory with fd_readdir (small buffer, so the cookie is used), sorted by name. */
static void list_dir(__wasi_fd_t fd, const char *what) {
  char *names[64];
  int count = 0;
  __wasi_dircookie_t cookie = __WASI_DIRCOOKIE_START;
  uint8_t buf[128];
  for (;;) {
    __wasi_size_t used;
    __wasi_errno_t e = __wasi_fd_readdir(fd, buf, sizeof buf, cookie, &used);
    if (e != 0) {
      printf("%-34s %s\n", what, errname(e));
      return;
    }
    size_t pos = 0;
    int progressed = 0;
    while (pos + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t d;
      memcpy(&d, buf + pos, sizeof d);
      if (pos + sizeof d + d.d_namlen > used) break; /* truncated entry: read again from cookie */
      char name[96];
      size_t n = d.d_namlen < sizeof name - 1 ? d.d_namlen : sizeof name - 1;
      memcpy(name, buf + pos + sizeof d, n);
      name[n] = 0;
      if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && count < 64) {
        char *line = malloc(128);
        snprintf(line, 128, "%s(%s)", name, typename(d.d_type));
        names[count++] = line;
      }
      cookie = d.d_next;
      pos += sizeof d + d.d_namlen;
      progressed = 1;
    }
    if (used < sizeof buf && pos >= used) break; /* end of directory */
    if (!progressed) {
      printf("%-34s entry larger than buffer\n", what);
      return;
    }
  }
  qsort(names, count, sizeof names[0], cmp_str);
  printf("%-34s", what);
  for (int i = 0; i < count; i++) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
}

/* Overlapping buffers (issue 14): a guest may pass a pointer array that overlaps the string
 * buffer of args_get/environ_get, or an event array that overlaps the subscriptions of
 * poll_oneoff. What it reads back depends on the order in which the host writes, and hosts differ
 * (wasmtime writes each string's pointer then its bytes, the wasmi CLI each string's bytes then
 * its pointer, node all the strings then all the pointers; every host reads all subscriptions
 * before writing an event): chiwawa must give the bytes the host gives. The region is printed
 * in hex (pointers are guest addresses, the same in both runs of the same module). */
static _Alignas(16) uint8_t overlap[160];

static void show_overlap(const char *what, __wasi_errno_t e, unsigned len) {
  printf("%s: %s\n ", what, errname(e));
  for (unsigned i = 0; i < len; i++) printf(" %02x%s", overlap[i], i % 16 == 15 && i + 1 < len ? "\n " : "");
  printf("\n");
}

static void overlapping_lists(void) {
  /* (offset of the pointer array, offset of the strings) in `overlap` */
  static const int layouts[][2] = {{0, 0}, {0, 4}, {4, 0}, {8, 2}, {16, 0}};
  for (unsigned k = 0; k < sizeof layouts / sizeof layouts[0]; k++) {
    char what[64];
    uint8_t **ptrs = (uint8_t **)(overlap + layouts[k][0]);
    uint8_t *buf = overlap + layouts[k][1];
    memset(overlap, 0xee, sizeof overlap);
    snprintf(what, sizeof what, "args_get overlapping %d/%d", layouts[k][0], layouts[k][1]);
    show_overlap(what, __wasi_args_get(ptrs, buf), 48);
    memset(overlap, 0xee, sizeof overlap);
    snprintf(what, sizeof what, "environ_get overlapping %d/%d", layouts[k][0], layouts[k][1]);
    show_overlap(what, __wasi_environ_get(ptrs, buf), 48);
  }
}

/* One subscription (a clock that has expired, stdin readable, or a bad descriptor) with the
 * event array at `events_at` bytes into it, the count after both. */
static void overlapping_poll(void) {
  static const char *kinds[] = {"clock 0", "fd_read stdin", "fd_read bad fd"};
  static const int events_at[] = {0, 8, 16};
  for (int kind = 0; kind < 3; kind++) {
    for (unsigned k = 0; k < sizeof events_at / sizeof events_at[0]; k++) {
      memset(overlap, 0xee, sizeof overlap);
      __wasi_subscription_t *sub = (__wasi_subscription_t *)overlap;
      memset(sub, 0, sizeof *sub);
      sub->userdata = 0x1111111111111111ull;
      if (kind == 0) {
        sub->u.tag = __WASI_EVENTTYPE_CLOCK;
        sub->u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
        sub->u.u.clock.timeout = 0;
      } else {
        sub->u.tag = __WASI_EVENTTYPE_FD_READ;
        sub->u.u.fd_read.file_descriptor = kind == 1 ? 0 : 77;
      }
      __wasi_size_t *nevents = (__wasi_size_t *)(overlap + 64);
      char what[64];
      snprintf(what, sizeof what, "poll_oneoff %s, events at +%d", kinds[kind], events_at[k]);
      show_overlap(what, __wasi_poll_oneoff(sub, (__wasi_event_t *)(overlap + events_at[k]), 1, nevents), 68);
    }
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0); /* interleave with direct fd_write output in order */

  printf("== args and environ\n");
  __wasi_size_t argc, argv_size;
  SHOW("args_sizes_get", __wasi_args_sizes_get(&argc, &argv_size));
  char **argv = calloc(argc + 1, sizeof(char *));
  char *argv_buf = malloc(argv_size);
  SHOW("args_get", __wasi_args_get((uint8_t **)argv, (uint8_t *)argv_buf));
  printf("argc=%u bytes=%u\n", (unsigned)argc, (unsigned)argv_size);
  for (__wasi_size_t i = 0; i < argc; i++) printf("argv[%u]=%s\n", (unsigned)i, argv[i]);
  __wasi_size_t envc, env_size;
  SHOW("environ_sizes_get", __wasi_environ_sizes_get(&envc, &env_size));
  char **envp = calloc(envc + 1, sizeof(char *));
  char *env_buf = malloc(env_size ? env_size : 1);
  SHOW("environ_get", __wasi_environ_get((uint8_t **)envp, (uint8_t *)env_buf));
  qsort(envp, envc, sizeof(char *), cmp_str);
  printf("envc=%u bytes=%u\n", (unsigned)envc, (unsigned)env_size);
  for (__wasi_size_t i = 0; i < envc; i++) printf("env %s\n", envp[i]);
  overlapping_lists();

  printf("== clocks, random, poll, yield\n");
  static const char *clock_names[] = {"realtime", "monotonic", "process_cputime", "thread_cputime"};
  for (__wasi_clockid_t id = 0; id < 4; id++) {
    __wasi_timestamp_t res = 0, t1 = 0, t2 = 0;
    __wasi_errno_t e = __wasi_clock_res_get(id, &res);
    printf("clock_res_get %-20s %s%s\n", clock_names[id], errname(e),
           e == 0 ? (res > 0 ? " res>0" : " res=0") : "");
    e = __wasi_clock_time_get(id, 1, &t1);
    __wasi_errno_t e2 = __wasi_clock_time_get(id, 1, &t2);
    printf("clock_time_get %-19s %s %s%s\n", clock_names[id], errname(e), errname(e2),
           e == 0 && e2 == 0 && id == 1 ? (t2 >= t1 ? " monotonic" : " WENT BACK") : "");
  }
  uint8_t rnd[64] = {0};
  SHOW("random_get 64", __wasi_random_get(rnd, sizeof rnd));
  SHOW("random_get 0", __wasi_random_get(rnd, 0));
  __wasi_subscription_t sub;
  memset(&sub, 0, sizeof sub);
  sub.userdata = 0x1234;
  sub.u.tag = __WASI_EVENTTYPE_CLOCK;
  sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  sub.u.u.clock.timeout = 1000000; /* 1 ms, relative */
  sub.u.u.clock.precision = 1000;
  __wasi_event_t ev;
  memset(&ev, 0, sizeof ev);
  __wasi_size_t nevents = 0;
  SHOW("poll_oneoff clock 1ms", __wasi_poll_oneoff(&sub, &ev, 1, &nevents));
  printf("events=%u userdata=0x%llx type=%u error=%s\n", (unsigned)nevents,
         (unsigned long long)ev.userdata, (unsigned)ev.type, errname(ev.error));
  overlapping_poll();
  SHOW("sched_yield", __wasi_sched_yield());

  printf("== preopens and stdio\n");
  __wasi_prestat_t pre;
  SHOW("fd_prestat_get 3", __wasi_fd_prestat_get(DIR_FD, &pre));
  char pname[64] = {0};
  if (pre.u.dir.pr_name_len < sizeof pname)
    SHOW("fd_prestat_dir_name 3", __wasi_fd_prestat_dir_name(DIR_FD, (uint8_t *)pname,
                                                             pre.u.dir.pr_name_len));
  printf("preopen 3 tag=%u name=\"%s\"\n", (unsigned)pre.tag, pname);
  SHOW("fd_prestat_get 4 (none)", __wasi_fd_prestat_get(4, &pre));
  __wasi_fdstat_t fds;
  for (__wasi_fd_t fd = 0; fd <= 3; fd++) {
    __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &fds);
    printf("fd_fdstat_get %u %-20s %s type=%s flags=%u\n", (unsigned)fd, "", errname(e),
           typename(fds.fs_filetype), (unsigned)fds.fs_flags);
  }
  write_all(1, "fd_write to stdout\n");
  /* A host may write only the first iovec (a short write); the count says what it did. */
  write_all(2, "fd_write to stderr\n");
  __wasi_ciovec_t two[2] = {{(const uint8_t *)"gather ", 7}, {(const uint8_t *)"write\n", 6}};
  __wasi_size_t nw = 0;
  SHOW("fd_write 2 iovecs", __wasi_fd_write(1, two, 2, &nw));
  printf("wrote %u bytes\n", (unsigned)nw);
  char in[256];
  __wasi_iovec_t riov = {(uint8_t *)in, sizeof in - 1};
  __wasi_size_t nr = 0;
  SHOW("fd_read stdin", __wasi_fd_read(0, &riov, 1, &nr));
  in[nr] = 0;
  printf("stdin %u bytes: %s", (unsigned)nr, in);

  printf("== files\n");
  __wasi_fd_t f = 99; /* a bad fd until an open succeeds */
  SHOW("path_open create data.txt", open_at("data.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0, &f));
  printf("data.txt is fd %u\n", (unsigned)f);
  const char *text = "0123456789abcdefghij";
  __wasi_ciovec_t wiov = {(const uint8_t *)text, strlen(text)};
  SHOW("fd_write file", __wasi_fd_write(f, &wiov, 1, &nw));
  __wasi_filesize_t pos = 0;
  SHOW("fd_tell", __wasi_fd_tell(f, &pos));
  printf("tell=%llu\n", (unsigned long long)pos);
  SHOW("fd_seek set 5", __wasi_fd_seek(f, 5, __WASI_WHENCE_SET, &pos));
  printf("pos=%llu\n", (unsigned long long)pos);
  char rb[16] = {0};
  __wasi_iovec_t rbi = {(uint8_t *)rb, 4};
  SHOW("fd_read 4", __wasi_fd_read(f, &rbi, 1, &nr));
  printf("read \"%.*s\"\n", (int)nr, rb);
  SHOW("fd_seek cur -2", __wasi_fd_seek(f, -2, __WASI_WHENCE_CUR, &pos));
  printf("pos=%llu\n", (unsigned long long)pos);
  SHOW("fd_seek end -3", __wasi_fd_seek(f, -3, __WASI_WHENCE_END, &pos));
  printf("pos=%llu\n", (unsigned long long)pos);
  SHOW("fd_seek before start", __wasi_fd_seek(f, -100, __WASI_WHENCE_SET, &pos));
  memset(rb, 0, sizeof rb);
  SHOW("fd_pread 3 at 10", __wasi_fd_pread(f, &rbi, 1, 10, &nr));
  printf("pread \"%.*s\"\n", (int)nr, rb);
  __wasi_ciovec_t pw = {(const uint8_t *)"XY", 2};
  SHOW("fd_pwrite at 2", __wasi_fd_pwrite(f, &pw, 1, 2, &nw));
  __wasi_filestat_t st;
  SHOW("fd_filestat_get", __wasi_fd_filestat_get(f, &st));
  show_filestat("  data.txt", &st);
  SHOW("fd_advise sequential", __wasi_fd_advise(f, 0, 10, __WASI_ADVICE_SEQUENTIAL));
  SHOW("fd_allocate 0..64", __wasi_fd_allocate(f, 0, 64));
  SHOW("fd_filestat_set_size 12", __wasi_fd_filestat_set_size(f, 12));
  SHOW("fd_filestat_set_times", __wasi_fd_filestat_set_times(f, 1000000000ull, 2000000000ull,
                                                             __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  SHOW("fd_filestat_get", __wasi_fd_filestat_get(f, &st));
  show_filestat("  data.txt", &st);
  printf("mtim=%llu\n", (unsigned long long)st.mtim);
  SHOW("fd_datasync", __wasi_fd_datasync(f));
  SHOW("fd_sync", __wasi_fd_sync(f));
  SHOW("fd_fdstat_set_flags append", __wasi_fd_fdstat_set_flags(f, __WASI_FDFLAGS_APPEND));
  SHOW("fd_fdstat_get", __wasi_fd_fdstat_get(f, &fds));
  printf("  type=%s flags=%u\n", typename(fds.fs_filetype), (unsigned)fds.fs_flags);
  __wasi_ciovec_t tail = {(const uint8_t *)"!\n", 2};
  SHOW("fd_write append", __wasi_fd_write(f, &tail, 1, &nw));
  __wasi_fd_t g;
  SHOW("path_open data.txt again", open_at("data.txt", 0, 0, &g));
  printf("data.txt again is fd %u\n", (unsigned)g);
  /* The descriptors the guest sees, 0 to g + 2: a runtime's own must not show among them. */
  for (__wasi_fd_t fd = 0; fd <= g + 2; fd++) {
    __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &fds);
    printf("fd_fdstat_get %u %s%s%s\n", (unsigned)fd, errname(e), e == 0 ? " type=" : "",
           e == 0 ? typename(fds.fs_filetype) : "");
  }
  /* poll_oneoff on descriptors, one subscription a call (with several, which of the ready ones
     a host reports can depend on timing): the file readable, stdout writable, a bad one. */
  __wasi_fd_t poll_fds[3] = {g, 1, 77};
  for (int i = 0; i < 3; i++) {
    __wasi_subscription_t fsub;
    memset(&fsub, 0, sizeof fsub);
    fsub.userdata = 0x100 + i;
    fsub.u.tag = i == 1 ? __WASI_EVENTTYPE_FD_WRITE : __WASI_EVENTTYPE_FD_READ;
    fsub.u.u.fd_read.file_descriptor = poll_fds[i];
    __wasi_event_t fev;
    memset(&fev, 0, sizeof fev);
    nevents = 0;
    __wasi_errno_t e = __wasi_poll_oneoff(&fsub, &fev, 1, &nevents);
    printf("poll_oneoff fd %u: %s events=%u", (unsigned)poll_fds[i], errname(e), (unsigned)nevents);
    if (e == 0 && nevents == 1)
      printf(" userdata=0x%llx type=%u error=%s", (unsigned long long)fev.userdata,
             (unsigned)fev.type, errname(fev.error));
    printf(" (subscription fd %u)\n", (unsigned)fsub.u.u.fd_read.file_descriptor);
  }
  SHOW("fd_renumber", __wasi_fd_renumber(g, f));
  memset(rb, 0, sizeof rb);
  rbi.buf_len = sizeof rb - 1;
  SHOW("fd_read renumbered", __wasi_fd_read(f, &rbi, 1, &nr));
  printf("read \"%.*s\"\n", (int)nr, rb);
  SHOW("fd_close", __wasi_fd_close(f));
  SHOW("fd_close again (EBADF)", __wasi_fd_close(f));
  SHOW("fd_fdstat_set_rights", __wasi_fd_fdstat_set_rights(0, 0, 0));

  printf("== paths\n");
  SHOW("path_create_directory sub", __wasi_path_create_directory(DIR_FD, "sub"));
  SHOW("path_create_directory sub again", __wasi_path_create_directory(DIR_FD, "sub"));
  SHOW("path_open create sub/a.txt", open_at("sub/a.txt", __WASI_OFLAGS_CREAT, 0, &f));
  __wasi_ciovec_t hello = {(const uint8_t *)"hello\n", 6};
  SHOW("fd_write sub/a.txt", __wasi_fd_write(f, &hello, 1, &nw));
  SHOW("fd_close", __wasi_fd_close(f));
  SHOW("path_open excl existing", open_at("sub/a.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, 0, &f));
  SHOW("path_rename a.txt -> b.txt", __wasi_path_rename(DIR_FD, "sub/a.txt", DIR_FD, "sub/b.txt"));
  SHOW("path_link b.txt -> hard.txt", __wasi_path_link(DIR_FD, 0, "sub/b.txt", DIR_FD, "sub/hard.txt"));
  SHOW("path_symlink b.txt <- link", __wasi_path_symlink("b.txt", DIR_FD, "sub/link"));
  char target[64] = {0};
  __wasi_size_t tl = 0;
  SHOW("path_readlink sub/link", __wasi_path_readlink(DIR_FD, "sub/link", (uint8_t *)target, sizeof target, &tl));
  printf("link -> \"%.*s\"\n", (int)tl, target);
  SHOW("path_readlink regular file", __wasi_path_readlink(DIR_FD, "sub/b.txt", (uint8_t *)target, sizeof target, &tl));
  SHOW("path_filestat_get nofollow", __wasi_path_filestat_get(DIR_FD, 0, "sub/link", &st));
  show_filestat("  sub/link", &st);
  SHOW("path_filestat_get follow", __wasi_path_filestat_get(DIR_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "sub/link", &st));
  show_filestat("  sub/link", &st);
  SHOW("path_filestat_set_times", __wasi_path_filestat_set_times(DIR_FD, 0, "sub/b.txt", 0, 0,
                                                                 __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW));
  __wasi_fd_t d;
  SHOW("path_open sub (directory)", open_dir("sub", &d));
  list_dir(d, "fd_readdir sub");
  SHOW("fd_filestat_get sub", __wasi_fd_filestat_get(d, &st));
  printf("  type=%s\n", typename(st.filetype));
  SHOW("path_open file as directory", open_at("sub/b.txt", __WASI_OFLAGS_DIRECTORY, 0, &f));
  SHOW("fd_close sub", __wasi_fd_close(d));
  SHOW("path_remove_directory non-empty", __wasi_path_remove_directory(DIR_FD, "sub"));
  SHOW("path_unlink_file sub/link", __wasi_path_unlink_file(DIR_FD, "sub/link"));
  SHOW("path_unlink_file sub/hard.txt", __wasi_path_unlink_file(DIR_FD, "sub/hard.txt"));
  SHOW("path_unlink_file directory", __wasi_path_unlink_file(DIR_FD, "sub"));
  SHOW("path_rename sub/b.txt -> kept.txt", __wasi_path_rename(DIR_FD, "sub/b.txt", DIR_FD, "kept.txt"));
  SHOW("path_remove_directory sub", __wasi_path_remove_directory(DIR_FD, "sub"));
  list_dir(DIR_FD, "fd_readdir .");

  printf("== errors\n");
  SHOW("path_open missing (ENOENT)", open_at("no-such-file", 0, 0, &f));
  SHOW("path_filestat_get missing", __wasi_path_filestat_get(DIR_FD, 0, "no/such", &st));
  SHOW("path_open ../outside", open_at("../outside", 0, 0, &f));
  SHOW("path_open /etc/passwd", open_at("/etc/passwd", 0, 0, &f));
  SHOW("path_symlink escaping, then open", __wasi_path_symlink("../..", DIR_FD, "escape"));
  SHOW("path_open escape/etc (via link)", open_at("escape/etc", 0, 0, &f));
  SHOW("path_unlink_file escape", __wasi_path_unlink_file(DIR_FD, "escape"));
  SHOW("fd_write bad fd (EBADF)", __wasi_fd_write(77, &wiov, 1, &nw));
  SHOW("fd_read bad fd", __wasi_fd_read(77, &riov, 1, &nr));
  SHOW("fd_seek bad fd", __wasi_fd_seek(77, 0, __WASI_WHENCE_SET, &pos));
  SHOW("fd_filestat_get bad fd", __wasi_fd_filestat_get(77, &st));
  SHOW("fd_readdir on a file", __wasi_fd_readdir(0, (uint8_t *)in, sizeof in, 0, &nr));
  SHOW("path_open relative to a file fd", __wasi_path_open(0, 0, "x", 0, 0, 0, 0, &f));
  __wasi_fd_t ro = 99;
  SHOW("path_open kept.txt read-only", __wasi_path_open(DIR_FD, 0, "kept.txt", 0, __WASI_RIGHTS_FD_READ,
                                                        0, 0, &ro));
  SHOW("fd_write without the right", __wasi_fd_write(ro, &wiov, 1, &nw));
  SHOW("fd_filestat_set_size w/o right", __wasi_fd_filestat_set_size(ro, 0));
  SHOW("fd_close read-only", __wasi_fd_close(ro));
  SHOW("sock_shutdown stdout", __wasi_sock_shutdown(1, __WASI_SDFLAGS_WR));
  __wasi_size_t sock_n = 0;
  __wasi_roflags_t roflags = 0;
  SHOW("sock_recv bad fd", __wasi_sock_recv(77, &riov, 1, 0, &sock_n, &roflags));
  SHOW("sock_send bad fd", __wasi_sock_send(77, &wiov, 1, 0, &sock_n));
  SHOW("sock_accept bad fd", __wasi_sock_accept(77, 0, &f));
  /* chiwawa-rt.wasm does not import sock_accept (hosts of the first preview1 release lack it)
     and answers itself for descriptors that are not sockets: as the host would. */
  SHOW("sock_accept stdout", __wasi_sock_accept(1, 0, &f));
  SHOW("sock_accept preopen", __wasi_sock_accept(DIR_FD, 0, &f));

  printf("== exit\n");
  /* Signal 0 is "no signal": wasmtime and node answer with an errno; the wasmi CLI stops the
     program ("proc_raise unsupported"), so this comes last, where it hides nothing else. */
  printf("== proc_raise\n");
  fflush(stdout);
  SHOW("proc_raise 0", raw_proc_raise(0));
  write_all(2, "exiting with proc_exit(7)\n");
  __wasi_proc_exit(7);
}
