/*
 * sentry_threads: N threads each open, read, stat and close files M times
 * at once; prints the total bytes read and errors (must equal native).
 *     usage: sentry_threads <threads> <iterations> <file>...
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int iters, nfiles;
static char **files;
static long total[64], errors[64];

static void *worker(void *arg) {
    long id = (long)arg;
    char buf[4096];
    struct stat st;
    for (int i = 0; i < iters; i++) {
        const char *f = files[(id + i) % nfiles];
        int fd = open(f, O_RDONLY | O_CLOEXEC);
        if (fd < 0) { errors[id]++; continue; }
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) total[id] += n;
        if (stat(f, &st) != 0) errors[id]++;
        close(fd);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int n = atoi(argv[1]);
    iters = atoi(argv[2]);
    files = argv + 3;
    nfiles = argc - 3;
    if (n > 64) n = 64;
    pthread_t t[64];
    for (long i = 0; i < n; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    long sum = 0, err = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        sum += total[i];
        err += errors[i];
    }
    printf("bytes %ld errors %ld\n", sum, err);
    return 0;
}
