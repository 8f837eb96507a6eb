/*
 * sentry_deny: calls the sentry's table denies or kills, one per line:
 *   <name> <errno number>      (0 when the call succeeded)
 *   <name> killed <signal>     (the call killed a child process)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void in_child(const char *name, int kind) {
    pid_t p = fork();
    if (p == 0) {
        if (kind == 0) {        /* i386 getpid through int 0x80 */
            int r;
            __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
        } else {                /* x32 getpid */
            syscall(39 | 0x40000000);
        }
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    if (WIFSIGNALED(st)) printf("%s killed %d\n", name, WTERMSIG(st));
    else printf("%s exited %d\n", name, WEXITSTATUS(st));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long r = syscall(SYS_io_uring_setup, 8, (void *)0);
    printf("io_uring_setup %d\n", r < 0 ? errno : 0);
    r = mount("none", "/tmp", "tmpfs", 0, NULL);
    printf("mount %d\n", r < 0 ? errno : 0);
    r = ptrace(PTRACE_ATTACH, getppid(), 0, 0);
    printf("ptrace %d\n", r < 0 ? errno : 0);
    in_child("int80", 0);
    in_child("x32", 1);
    return 0;
}
