/*
 * sentry_escape: tries to leave the container root through every path
 * trick the sentry must stop, and prints one line per attempt:
 *   <name> ok <first bytes> | <name> err <errno name>
 * The test runs it with the sentry's root at a tmp dir (and the app NOT
 * chrooted, so that the sentry alone is the boundary) and checks that no
 * attempt reads the host's marker file.
 *     usage: sentry_escape <host marker path> [flip-seconds]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case ENOENT: return "ENOENT"; case EACCES: return "EACCES";
    case ELOOP: return "ELOOP"; case EFAULT: return "EFAULT";
    case ENAMETOOLONG: return "ENAMETOOLONG"; case ENOTDIR: return "ENOTDIR";
    case EBADF: return "EBADF"; case EXDEV: return "EXDEV";
    default: return "EOTHER";
    }
}

static void report_fd(const char *name, int fd) {
    if (fd < 0) { printf("%s err %s\n", name, ename(errno)); return; }
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    for (ssize_t i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = 0;
    printf("%s ok %s\n", name, n > 0 ? buf : "");
    close(fd);
}

static volatile int stop_flip;
static char *flip_buf;
static const char *flip_a, *flip_b;

static void *flipper(void *arg) {
    (void)arg;
    size_t la = strlen(flip_a) + 1, lb = strlen(flip_b) + 1;
    while (!stop_flip) {
        memcpy(flip_buf, flip_a, la);
        memcpy(flip_buf, flip_b, lb);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *marker = argv[1];
    char p[8192];
    setvbuf(stdout, NULL, _IOLBF, 0);

    snprintf(p, sizeof p, "../../../../../../../..%s", marker);
    report_fd("dotdot", open(p, O_RDONLY));
    report_fd("absolute", open(marker, O_RDONLY));
    snprintf(p, sizeof p, "/abs_link/%s", strrchr(marker, '/') + 1);
    report_fd("abs_symlink", open(p, O_RDONLY));
    report_fd("rel_symlink", open("/rel_link", O_RDONLY));
    int root = open("/", O_RDONLY | O_DIRECTORY);
    snprintf(p, sizeof p, "../../../../../..%s", marker);
    report_fd("dirfd_dotdot", openat(root, p, O_RDONLY));
    /* fd 3 is a host directory opened outside the root by the driver */
    report_fd("dirfd_outside", openat(3, strrchr(marker, '/') + 1, O_RDONLY));
    report_fd("inside", open("/inside", O_RDONLY));
    report_fd("loop", open("/loop_a", O_RDONLY));
    memset(p, 'a', 5000); p[5000] = 0;
    report_fd("toolong", open(p, O_RDONLY));
    report_fd("badptr", open((char *)8, O_RDONLY));
    char *edge = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(edge + 4096, 4096);
    memcpy(edge + 4096 - 8, "/inside", 8);   /* NUL is the page's last byte */
    report_fd("page_edge", open(edge + 4096 - 8, O_RDONLY));
    memcpy(edge + 4096 - 4, "/ins", 4);       /* runs into the hole */
    report_fd("page_hole", open(edge + 4096 - 4, O_RDONLY));
    struct stat st;
    snprintf(p, sizeof p, "/../../../..%s", marker);
    printf("stat_escape %s\n", stat(p, &st) == 0 ? "ok" : ename(errno));
    printf("access_escape %s\n", access(p, R_OK) == 0 ? "ok" : ename(errno));
    char lb[256];
    ssize_t n = readlink("/abs_link", lb, sizeof lb);
    printf("readlink %.*s\n", n > 0 ? (int)n : 0, lb);
    printf("mkdir_escape %s\n", mkdir("/../../escape_dir_x", 0755) == 0 ? "ok" : ename(errno));

    double secs = argc > 2 ? atof(argv[2]) : 0;
    if (secs > 0) {
        flip_buf = malloc(4096);
        flip_a = "/inside";
        snprintf(p, sizeof p, "/../../../../../../..%s", marker);
        flip_b = strdup(p);
        strcpy(flip_buf, flip_a);
        pthread_t t;
        pthread_create(&t, NULL, flipper, NULL);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        long opened = 0, tries = 0, escaped = 0;
        for (;;) {
            int fd = open(flip_buf, O_RDONLY);
            tries++;
            if (fd >= 0) {
                char buf[64] = {0};
                if (read(fd, buf, sizeof buf - 1) > 0) {
                    if (strncmp(buf, "HOST", 4) == 0) escaped++;
                    opened++;
                }
                close(fd);
            }
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) * 1e-9 > secs)
                break;
        }
        stop_flip = 1;
        pthread_join(t, NULL);
        if (escaped) printf("flip ESCAPED %ld\n", escaped);
        else printf("flip done %ld/%ld\n", opened, tries);
    }
    return 0;
}
