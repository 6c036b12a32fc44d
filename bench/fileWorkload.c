// The paced file workload of bench/fileEvents.bench.mjs: file events at a known, steady rate.
//
//   fileWorkload <dir> <rate> <seconds> <candidate_every>
//
// <dir>/pool holds the files to open (made beforehand: pool/p0 .. pool/p<n-1>); <dir>/work is where files are
// created, renamed and deleted. One unit of work, on file i:
//   create work/c<i> (open O_CREAT, write one byte, close): a create, an open and a modify (FAN_CLOSE_WRITE)
//   open three different pool files for reading:             three opens
//   rename work/c<i> to work/m<i>:                          a rename
//   delete work/m<i>:                                         a delete
// = 8 file events, 6 of them opens, creates and renames. <rate> counts those 6 kinds only (the ones the shipped
// rules subscribe), so the reader gets at least <rate> events/s whatever else is marked. Every
// <candidate_every>-th unit names its file c<i>.keychain-db, which the rules' path pre-filter lets through to
// JavaScript (0: never). Units are paced on CLOCK_MONOTONIC: the work due by now is done, then it sleeps 1 ms;
// it stops once <seconds> worth of units are done, so that units over its run time is the rate it reached (less
// than <rate> when it could not keep up: lateTicks counts the ticks it found itself behind).
// Opens of one pool file are ~1 s apart at 20,000/s, so the kernel does not merge them into one event.
// Prints one JSON object: what was done and how long it took.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPENS_PER_UNIT 3
#define COUNTED_PER_UNIT 6  // create + its open + OPENS_PER_UNIT opens + rename

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char* what, const char* path) {
  fprintf(stderr, "fileWorkload: %s %s: ", what, path);
  perror(NULL);
  exit(1);
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: fileWorkload <dir> <rate> <seconds> <candidate_every>\n");
    return 2;
  }
  const char* dir = argv[1];
  const double rate = atof(argv[2]), seconds = atof(argv[3]);
  const long candidate_every = atol(argv[4]);
  char path[4096], renamed[4096];
  long pool = 0;
  for (;; pool++) {
    snprintf(path, sizeof(path), "%s/pool/p%ld", dir, pool);
    if (access(path, F_OK) != 0) break;
  }
  if (pool < OPENS_PER_UNIT) die("needs pool files in", dir);

  const double units_per_s = rate / COUNTED_PER_UNIT;
  const long total = (long)(seconds * units_per_s);
  long units = 0, candidates = 0, next_pool = 0, late_ms = 0;
  const double t0 = now_s();
  double t = t0;
  while (units < total) {
    long due = (long)((t - t0) * units_per_s);
    if (due > total) due = total;
    if (due - units > (long)(units_per_s / 1000) + 1) late_ms++;  // more than a tick behind
    for (; units < due; units++) {
      const int candidate = candidate_every > 0 && units % candidate_every == 0;
      snprintf(path, sizeof(path), "%s/work/c%ld%s", dir, units, candidate ? ".keychain-db" : "");
      int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) die("create", path);
      if (write(fd, "x", 1) != 1) die("write", path);
      close(fd);
      for (int k = 0; k < OPENS_PER_UNIT; k++) {
        char pooled[4096];
        snprintf(pooled, sizeof(pooled), "%s/pool/p%ld", dir, next_pool);
        next_pool = (next_pool + 1) % pool;
        int rfd = open(pooled, O_RDONLY | O_CLOEXEC);
        if (rfd < 0) die("open", pooled);
        close(rfd);
      }
      snprintf(renamed, sizeof(renamed), "%s/work/m%ld%s", dir, units, candidate ? ".keychain-db" : "");
      if (rename(path, renamed) != 0) die("rename", path);
      if (unlink(renamed) != 0) die("delete", renamed);
      candidates += candidate;
    }
    if (units == total) break;
    struct timespec tick = {0, 1000000};
    nanosleep(&tick, NULL);
    t = now_s();
  }
  const double elapsed = now_s() - t0;
  printf("{\"units\":%ld,\"seconds\":%.4f,\"opens\":%ld,\"creates\":%ld,\"modifies\":%ld,\"renames\":%ld,"
         "\"deletes\":%ld,\"candidateUnits\":%ld,\"lateTicks\":%ld}\n",
         units, elapsed, units * (OPENS_PER_UNIT + 1), units, units, units, units, candidates, late_ms);
  return 0;
}
