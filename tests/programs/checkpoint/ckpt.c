/* A program that asks chiwawa for checkpoints (the import chiwawa.checkpoint) at four points of
 * its run, with state in every place a snapshot must carry: the heap and static data (a table
 * of numbers, a linked list), a recursion in progress (the second checkpoint is taken 20 calls
 * deep), a function pointer table (indirect calls), argv and the environment, files: one
 * written, closed, re-opened, seeked in and read back across checkpoints, one kept open for
 * writing and reading across two checkpoints, one open for reading half-way through, a directory
 * open, and the monotonic clock, which must never go backwards. Its output and the files it leaves are the same whether it runs
 * straight through or stops at each checkpoint and is resumed, on any host. Exit status 5. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>

__attribute__((import_module("chiwawa"), import_name("checkpoint"))) int chiwawa_checkpoint(void);

static int checkpoints;

/* Asks for a checkpoint; the answer (0 taken, 1 not enabled) is not printed: it differs between
 * a run with --checkpoint and one without, and the output must not. */
static void checkpoint(const char *where) {
  printf("-- checkpoint %d: %s\n", ++checkpoints, where);
  fflush(stdout);
  (void)chiwawa_checkpoint();
}

struct node {
  uint64_t value;
  struct node *next;
};

static uint64_t sq(uint64_t x) { return x * x; }
static uint64_t tri(uint64_t x) { return x * (x + 1) / 2; }
static uint64_t (*const ops[2])(uint64_t) = {sq, tri};

static uint64_t monotonic(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Recursion with live locals on every level; the checkpoint at the bottom. */
static uint64_t down(int n, uint64_t acc) {
  uint64_t mine = acc * 31 + (uint64_t)n;
  if (n == 0) {
    checkpoint("20 calls deep");
    return mine;
  }
  return ops[n & 1](mine % 1000) + down(n - 1, mine) * 3;
}

int main(int argc, char **argv) {
  printf("argc %d:", argc);
  for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
  const char *a = getenv("A");
  printf("\nA=%s\n", a ? a : "(unset)");

  static uint64_t table[4096];
  for (int i = 0; i < 4096; i++) table[i] = (uint64_t)i * 2654435761u;
  struct node *list = NULL;
  for (int i = 0; i < 100; i++) {
    struct node *n = malloc(sizeof *n);
    n->value = table[i * 40] ^ (uint64_t)i;
    n->next = list;
    list = n;
  }

  FILE *f = fopen("ckpt-data.txt", "w");
  fprintf(f, "first line\n");
  fclose(f);
  uint64_t t0 = monotonic();

  checkpoint("heap and data filled, file written");

  uint64_t sum = 0;
  for (struct node *n = list; n; n = n->next) sum += n->value;
  printf("list sum %llu\n", (unsigned long long)sum);

  /* Open across the next two checkpoints: a log written and read back, the data file read
     half-way, a directory. */
  FILE *log = fopen("ckpt-log.txt", "w+");
  fprintf(log, "opened before checkpoint 2\n");
  fflush(log);
  FILE *in = fopen("ckpt-data.txt", "r");
  char first[64];
  if (fgets(first, sizeof first, in)) printf("data file, line 1: %s", first);
  DIR *dir = opendir(".");

  printf("down %llu\n", (unsigned long long)down(20, 7));

  fprintf(log, "written after checkpoint 2, at offset %ld\n", ftell(log));

  f = fopen("ckpt-data.txt", "a");
  fprintf(f, "second line, sum %llu\n", (unsigned long long)(sum % 100000));
  fclose(f);

  checkpoint("file appended");

  fseek(log, 0, SEEK_SET);
  char logline[96];
  while (fgets(logline, sizeof logline, log)) printf("log: %s", logline);
  fclose(log);
  printf("data file at offset %ld after the checkpoints\n", ftell(in));
  fclose(in);
  int entries = 0;
  for (struct dirent *e; (e = readdir(dir));) entries += e->d_name[0] != '.';
  closedir(dir);
  printf("directory read: %s\n", entries > 0 ? "entries" : "none");

  f = fopen("ckpt-data.txt", "r");
  char line[128];
  fseek(f, 11, SEEK_SET);
  if (fgets(line, sizeof line, f)) printf("read back: %s", line);
  fclose(f);
  uint64_t t1 = monotonic();
  printf("monotonic clock %s\n", t1 >= t0 ? "went forward" : "WENT BACKWARDS");

  for (int i = 0; i < 4096; i++) table[i] = ops[i & 1](table[i] & 0xffff);
  checkpoint("table rewritten");
  uint64_t total = 0;
  for (int i = 0; i < 4096; i++) total += table[i] % 977;
  printf("table total %llu\n", (unsigned long long)total);
  fprintf(stderr, "done after %d checkpoints\n", checkpoints);
  return 5;
}
