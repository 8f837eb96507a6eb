/*
 * driver: the one program every column of the benchmark harness runs.
 *
 * It is linked statically so that the same bytes run natively, under runc,
 * under runsc and under pyrunsc.  It prints one line per result:
 *     R <name> <ns per op> <ops timed>
 *     E <name> <errno> <what failed>
 * and nothing else on stdout, so the harness can parse it.
 *
 *   driver [--work DIR] [--data DIR] [--target-ms N] micro [NAME...]
 *   driver [--work DIR] [--data DIR] workload [NAME...]
 *   driver idle          sleep until killed (density measurements)
 *   driver exit          exit 0 at once (the fork+exec+wait target)
 *
 * Microbenchmarks run in the work directory (the harness makes it a tmpfs
 * on the host, bind-mounted into containers) with relative paths, so that
 * every column resolves paths of the same length.  Each one calibrates its
 * count so one timed batch lasts about --target-ms, and reports that batch.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char self_path[PATH_MAX];
static const char *work_dir = ".";
static const char *data_dir = ".";
static long target_ns = 200 * 1000000L;
static int failed;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void fail(const char *name, const char *what) {
    printf("E %s %d %s\n", name, errno, what);
    fflush(stdout);
    failed = 1;
}

static void result(const char *name, double ns, long n) {
    printf("R %s %.1f %ld\n", name, ns, n);
    fflush(stdout);
}

/* ---- microbenchmarks: each does n ops, returns 0 or -1 (errno set) ---- */

static int fd_zero = -1, fd_null = -1, fd_dir = -1;
static int ping[2], pong[2];
static pid_t echo_pid;

static int b_getpid(long n) {
    for (long i = 0; i < n; i++) syscall(SYS_getpid);
    return 0;
}

static int b_getppid(long n) {
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    return 0;
}

static int b_uname(long n) {
    struct utsname u;
    for (long i = 0; i < n; i++)
        if (uname(&u) < 0) return -1;
    return 0;
}

static int b_open_close(long n) {
    for (long i = 0; i < n; i++) {
        int fd = open("file", O_RDONLY);
        if (fd < 0) return -1;
        close(fd);
    }
    return 0;
}

static int b_stat3(long n) {
    struct stat st;
    for (long i = 0; i < n; i++)
        if (stat("d1/d2/file", &st) < 0) return -1;
    return 0;
}

static int b_open_missing(long n) {
    for (long i = 0; i < n; i++) {
        int fd = openat(AT_FDCWD, "missing", O_RDONLY);
        if (fd >= 0 || errno != ENOENT) {
            if (fd >= 0) close(fd);
            errno = EEXIST;
            return -1;
        }
    }
    return 0;
}

static int b_readlink(long n) {
    char buf[64];
    for (long i = 0; i < n; i++)
        if (readlink("link", buf, sizeof buf) != 4) return -1;
    return 0;
}

static int b_getdents(long n) {
    char buf[4096];
    for (long i = 0; i < n; i++) {
        long entries = 0, got;
        if (lseek(fd_dir, 0, SEEK_SET) < 0) return -1;
        while ((got = syscall(SYS_getdents64, fd_dir, buf, sizeof buf)) > 0) {
            for (long off = 0; off < got;) {
                struct dirent64 *d = (struct dirent64 *)(buf + off);
                entries++;
                off += d->d_reclen;
            }
        }
        if (got < 0) return -1;
        if (entries != 102) { errno = EIO; return -1; } /* 100 + . and .. */
    }
    return 0;
}

static int b_read_zero(long n) {
    char c;
    for (long i = 0; i < n; i++)
        if (read(fd_zero, &c, 1) != 1) return -1;
    return 0;
}

static int b_write_null(long n) {
    char c = 'x';
    for (long i = 0; i < n; i++)
        if (write(fd_null, &c, 1) != 1) return -1;
    return 0;
}

static int b_mmap(long n) {
    for (long i = 0; i < n; i++) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return -1;
        munmap(p, 4096);
    }
    return 0;
}

static int b_pipe(long n) {
    char c = 'p';
    for (long i = 0; i < n; i++) {
        if (write(ping[1], &c, 1) != 1) return -1;
        if (read(pong[0], &c, 1) != 1) return -1;
    }
    return 0;
}

static int b_fork(long n) {
    for (long i = 0; i < n; i++) {
        int status;
        pid_t pid = fork();
        if (pid < 0) return -1;
        if (pid == 0) _exit(0);
        if (waitpid(pid, &status, 0) != pid || status != 0) return -1;
    }
    return 0;
}

static int b_fork_exec(long n) {
    for (long i = 0; i < n; i++) {
        int status;
        pid_t pid = fork();
        if (pid < 0) return -1;
        if (pid == 0) {
            char *argv[] = {self_path, "exit", NULL};
            char *envp[] = {NULL};
            execve(self_path, argv, envp);
            _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid) return -1;
        if (status != 0) { errno = ENOEXEC; return -1; }
    }
    return 0;
}

struct micro {
    const char *name;
    int (*fn)(long);
};

static const struct micro micros[] = {
    {"getpid", b_getpid},           {"getppid", b_getppid},
    {"uname", b_uname},
    {"open_close", b_open_close},   {"stat3", b_stat3},
    {"open_missing", b_open_missing}, {"readlink", b_readlink},
    {"getdents100", b_getdents},    {"read_zero", b_read_zero},
    {"write_null", b_write_null},   {"mmap_munmap", b_mmap},
    {"pipe_pingpong", b_pipe},      {"fork_wait", b_fork},
    {"fork_exec_wait", b_fork_exec},
};
#define N_MICROS (sizeof micros / sizeof micros[0])

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    ssize_t len = strlen(text), got = write(fd, text, len);
    close(fd);
    return got == len ? 0 : -1;
}

/* Fixtures in the work dir (untimed): file, d1/d2/file, link, dir100/. */
static int setup_micro(void) {
    char path[64];
    mkdir("d1", 0755);
    mkdir("d1/d2", 0755);
    mkdir("dir100", 0755);
    if (write_file("file", "hello\n") < 0 || write_file("d1/d2/file", "x\n") < 0)
        return -1;
    unlink("link");
    if (symlink("file", "link") < 0) return -1;
    for (int i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "dir100/entry%03d", i);
        if (write_file(path, "") < 0) return -1;
    }
    fd_zero = open("/dev/zero", O_RDONLY);
    fd_null = open("/dev/null", O_WRONLY);
    fd_dir = open("dir100", O_RDONLY | O_DIRECTORY);
    if (fd_zero < 0 || fd_null < 0 || fd_dir < 0) return -1;
    if (pipe(ping) < 0 || pipe(pong) < 0) return -1;
    echo_pid = fork();
    if (echo_pid < 0) return -1;
    if (echo_pid == 0) { /* the other end of the ping-pong */
        char c;
        close(ping[1]);
        close(pong[0]);
        while (read(ping[0], &c, 1) == 1)
            if (write(pong[1], &c, 1) != 1) break;
        _exit(0);
    }
    close(ping[0]);
    close(pong[1]);
    return 0;
}

static void run_micro(const struct micro *m) {
    long n = 1;
    for (;;) {
        long long t0 = now_ns();
        if (m->fn(n) < 0) {
            fail(m->name, "operation failed");
            return;
        }
        long long dt = now_ns() - t0;
        if (dt >= target_ns || n >= (1L << 30)) {
            result(m->name, (double)dt / n, n);
            return;
        }
        /* Aim past the target so the next batch is usually the last. */
        long next = dt > 0 ? (long)((double)n * target_ns * 1.2 / dt) : n * 100;
        if (next > n * 100) next = n * 100;
        if (next <= n) next = n * 2;
        n = next;
    }
}

/* ---- workloads: each timed once per invocation ---- */

static int run_cmd(char *const argv[], int quiet) {
    int status;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            dup2(fd, 1);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid) return -1;
    if (status != 0) { errno = ECHILD; return -1; }
    return 0;
}

static int w_files(void) {
    char path[64], buf[128];
    static const char body[100] = "0123456789";
    struct stat st;
    if (mkdir("files", 0755) < 0 && errno != EEXIST) return -1;
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof path, "files/f%04d", i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, body, sizeof body) != sizeof body) return -1;
        close(fd);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof path, "files/f%04d", i);
        if (stat(path, &st) < 0 || st.st_size != sizeof body) return -1;
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof path, "files/f%04d", i);
        int fd = open(path, O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof buf) != sizeof body) return -1;
        close(fd);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof path, "files/f%04d", i);
        if (unlink(path) < 0) return -1;
    }
    return rmdir("files");
}

static int w_python(void) {
    char *argv[] = {"/usr/bin/python3", "-c",
                    "import json, email, http.client, sqlite3, asyncio", NULL};
    return run_cmd(argv, 0);
}

static int w_gcc(void) {
    if (write_file("hello.c", "#include <stdio.h>\n"
                              "int main(void) { puts(\"hello\"); return 0; }\n") < 0)
        return -1;
    char *argv[] = {"gcc", "-O2", "-o", "hello", "hello.c", NULL};
    return run_cmd(argv, 0);
}

static char tree_tar[PATH_MAX];

static int w_tar(void) {
    char *rm[] = {"rm", "-rf", "tree", NULL};
    run_cmd(rm, 0);
    if (mkdir("tree", 0755) < 0) return -1;
    char *argv[] = {"tar", "-xf", tree_tar, "-C", "tree", NULL};
    return run_cmd(argv, 0);
}

static int w_find(void) {
    char *argv[] = {"find", "tree", NULL};
    return run_cmd(argv, 1);
}

struct workload {
    const char *name;
    int (*fn)(void);
};

static const struct workload workloads[] = {
    {"files1000", w_files}, {"python_import", w_python}, {"gcc_hello", w_gcc},
    {"tar_extract", w_tar}, {"find_tree", w_find},
};
#define N_WORKLOADS (sizeof workloads / sizeof workloads[0])

static int selected(const char *name, int argc, char **argv) {
    if (argc == 0) return 1;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], name)) return 1;
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "exit")) return 0;
    if (argc > 1 && !strcmp(argv[1], "idle")) {
        for (;;) pause();
    }
    if (!realpath(argv[0], self_path)) {
        perror("driver: realpath");
        return 2;
    }
    int i = 1;
    for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
        if (!strcmp(argv[i], "--work")) work_dir = argv[i + 1];
        else if (!strcmp(argv[i], "--data")) data_dir = argv[i + 1];
        else if (!strcmp(argv[i], "--target-ms")) target_ns = atol(argv[i + 1]) * 1000000L;
        else { fprintf(stderr, "driver: unknown option %s\n", argv[i]); return 2; }
    }
    if (i >= argc) {
        fprintf(stderr, "usage: driver [--work D] [--data D] [--target-ms N] "
                        "micro|workload [NAME...] | idle | exit\n");
        return 2;
    }
    if (chdir(work_dir) < 0) {
        perror("driver: chdir work dir");
        return 2;
    }
    setenv("TMPDIR", work_dir, 1);
    const char *mode = argv[i++];
    int nsel = argc - i;
    char **sel = argv + i;
    if (!strcmp(mode, "micro")) {
        if (setup_micro() < 0) {
            fail("setup", "micro fixtures");
            return 1;
        }
        for (size_t k = 0; k < N_MICROS; k++)
            if (selected(micros[k].name, nsel, sel)) run_micro(&micros[k]);
        close(ping[1]);
        waitpid(echo_pid, NULL, 0);
    } else if (!strcmp(mode, "workload")) {
        snprintf(tree_tar, sizeof tree_tar, "%s/tree.tar", data_dir);
        for (size_t k = 0; k < N_WORKLOADS; k++) {
            if (!selected(workloads[k].name, nsel, sel)) continue;
            long long t0 = now_ns();
            if (workloads[k].fn() < 0) {
                fail(workloads[k].name, "workload failed");
                continue;
            }
            result(workloads[k].name, (double)(now_ns() - t0), 1);
        }
    } else {
        fprintf(stderr, "driver: unknown mode %s\n", mode);
        return 2;
    }
    return failed;
}
