/*
 * fs_semantics: file semantics the sandbox must give as Linux does.
 *     usage: fs_semantics <rw dir> <ro dir> <dir on another mount>
 * <rw dir> must be empty and writable; <ro dir> a read-only mount holding
 * a file "f"; <other> a writable directory on another filesystem (EXDEV).
 * Prints one line per check: "name: value" with errno names, never paths,
 * inode numbers or times; the test compares a native run with sandboxed
 * runs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static const char *rw, *ro, *other;

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case ENOENT: return "ENOENT"; case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR"; case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP"; case EACCES: return "EACCES";
    case EROFS: return "EROFS"; case ENAMETOOLONG: return "ENAMETOOLONG";
    case EFAULT: return "EFAULT"; case EXDEV: return "EXDEV";
    case EPERM: return "EPERM"; case EINVAL: return "EINVAL";
    case ENOTEMPTY: return "ENOTEMPTY"; case EBADF: return "EBADF";
    case ENODATA: return "ENODATA"; case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENXIO: return "ENXIO"; case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRINUSE: return "EADDRINUSE"; case EBUSY: return "EBUSY";
    case ERANGE: return "ERANGE"; case EMLINK: return "EMLINK";
    default: { static char b[32]; snprintf(b, sizeof b, "errno%d", e); return b; }
    }
}

static char *P(const char *base, const char *name) {
    static char bufs[8][4096];
    static int i;
    char *b = bufs[i++ & 7];
    snprintf(b, 4096, "%s/%s", base, name);
    return b;
}

/* the result of a call returning -1/errno */
static void R(const char *name, long r) {
    printf("%s: %s\n", name, r < 0 ? ename(errno) : "OK");
}

/* an open: report the errno, or OK and close */
static void O(const char *name, int fd) {
    printf("%s: %s\n", name, fd < 0 ? ename(errno) : "OK");
    if (fd >= 0) close(fd);
}

static void put(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { printf("put %s failed\n", strrchr(path, '/')); return; }
    if (write(fd, s, strlen(s)) < 0) printf("put: write failed\n");
    close(fd);
}

static void get(const char *name, const char *path) {
    char b[256] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) { printf("%s: %s\n", name, ename(errno)); return; }
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    printf("%s: [%.*s]\n", name, (int)(n < 0 ? 0 : n), b);
}

static void open_flags(void) {
    put(P(rw, "f"), "hello");
    O("creat_new", open(P(rw, "n"), O_CREAT | O_WRONLY, 0600));
    O("creat_excl_exists", open(P(rw, "f"), O_CREAT | O_EXCL | O_WRONLY, 0600));
    O("creat_excl_new", open(P(rw, "x"), O_CREAT | O_EXCL | O_WRONLY, 0600));
    int fd = open(P(rw, "f"), O_WRONLY | O_TRUNC);
    O("trunc", fd);
    struct stat st;
    stat(P(rw, "f"), &st);
    printf("trunc_size: %lld\n", (long long)st.st_size);
    put(P(rw, "f"), "ab");
    fd = open(P(rw, "f"), O_WRONLY | O_APPEND);
    if (fd >= 0) { lseek(fd, 0, SEEK_SET); if (write(fd, "cd", 2) != 2) printf("append: short\n"); close(fd); }
    get("append", P(rw, "f"));
    O("directory_on_file", open(P(rw, "f"), O_RDONLY | O_DIRECTORY));
    O("directory_on_dir", open(rw, O_RDONLY | O_DIRECTORY));
    symlink("f", P(rw, "lf"));
    O("nofollow_symlink", open(P(rw, "lf"), O_RDONLY | O_NOFOLLOW));
    O("follow_symlink", open(P(rw, "lf"), O_RDONLY));
    fd = open(P(rw, "lf"), O_PATH | O_NOFOLLOW);
    O("path_nofollow_symlink", fd >= 0 ? dup(fd) : -1);
    if (fd >= 0) {
        fstatat(fd, "", &st, AT_EMPTY_PATH);
        printf("path_is_link: %d\n", S_ISLNK(st.st_mode));
        char b[64] = {0};
        printf("path_read: %s\n", read(fd, b, 1) < 0 ? ename(errno) : "OK");
        close(fd);
    }
    fd = open(P(rw, "f"), O_PATH);
    printf("path_file: %s\n", fd < 0 ? ename(errno) : "OK");
    if (fd >= 0) close(fd);
    fd = open(rw, O_TMPFILE | O_RDWR, 0600);
    printf("tmpfile: %s\n", fd < 0 ? ename(errno) : "OK");
    if (fd >= 0) {
        if (write(fd, "t", 1) != 1) printf("tmpfile: write failed\n");
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        R("tmpfile_linkat", linkat(AT_FDCWD, proc, AT_FDCWD, P(rw, "tmp_linked"), AT_SYMLINK_FOLLOW));
        get("tmpfile_content", P(rw, "tmp_linked"));
        close(fd);
    }
    fd = open(P(rw, "f"), O_RDONLY | O_CLOEXEC);
    printf("cloexec: %d\n", fd >= 0 ? (fcntl(fd, F_GETFD) & FD_CLOEXEC) : -1);
    if (fd >= 0) close(fd);
    fd = open(P(rw, "f"), O_RDONLY);
    printf("no_cloexec: %d\n", fd >= 0 ? (fcntl(fd, F_GETFD) & FD_CLOEXEC) : -1);
    if (fd >= 0) close(fd);
    O("wronly_dir", open(rw, O_WRONLY));
    O("creat_dir", open(rw, O_CREAT | O_RDONLY, 0600));
}

static void errnos(void) {
    O("enoent", open(P(rw, "missing"), O_RDONLY));
    O("enoent_dir", open(P(rw, "missing/x"), O_RDONLY));
    O("enotdir", open(P(rw, "f/x"), O_RDONLY));
    R("enotdir_mkdir", mkdir(P(rw, "f/x"), 0700));
    R("eexist_mkdir", mkdir(rw, 0700));
    O("eisdir", open(rw, O_RDWR));
    R("eisdir_unlink", unlink(P(rw, "..")) );
    R("rmdir_file", rmdir(P(rw, "f")));
    /* the root itself as the name to create, remove or rename */
    R("mkdir_root", mkdir("/", 0700));
    R("mkdir_slashes", mkdir("//", 0700));
    R("rmdir_root", rmdir("/"));
    R("unlink_root", unlink("/"));
    R("rename_root", rename("/", P(rw, "rootmoved")));
    R("symlink_root", symlink("x", "/"));
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    O("enametoolong_path", open(big, O_RDONLY));
    char comp[300];
    memset(comp, 'b', sizeof comp - 1);
    comp[sizeof comp - 1] = 0;
    O("enametoolong_name", open(P(rw, comp), O_RDONLY | O_CREAT, 0600));
    O("efault", open((const char *)1, O_RDONLY));
    R("efault_stat", syscall(SYS_newfstatat, AT_FDCWD, (const char *)1, (void *)0, 0));
    struct stat st;
    R("efault_statbuf", syscall(SYS_newfstatat, AT_FDCWD, P(rw, "f"), (void *)8, 0));
    R("stat_trailing_slash_file", stat(P(rw, "f/"), &st));
    /* EROFS */
    O("erofs_creat", open(P(ro, "new"), O_CREAT | O_WRONLY, 0600));
    O("erofs_write", open(P(ro, "f"), O_WRONLY));
    O("erofs_trunc", open(P(ro, "f"), O_RDONLY | O_TRUNC));
    O("erofs_read", open(P(ro, "f"), O_RDONLY));
    O("erofs_creat_excl_exists", open(P(ro, "f"), O_CREAT | O_EXCL | O_WRONLY, 0600));
    R("erofs_mkdir", mkdir(P(ro, "d"), 0700));
    R("erofs_mkdir_exists", mkdir(ro, 0700));
    R("erofs_unlink", unlink(P(ro, "f")));
    R("erofs_rename", rename(P(ro, "f"), P(ro, "g")));
    R("erofs_link", link(P(ro, "f"), P(ro, "h")));
    R("erofs_symlink", symlink("f", P(ro, "s")));
    R("erofs_chmod", chmod(P(ro, "f"), 0600));
    R("erofs_chown", chown(P(ro, "f"), 0, 0));
    R("erofs_utimens", utimensat(AT_FDCWD, P(ro, "f"), NULL, 0));
    R("erofs_truncate", truncate(P(ro, "f"), 0));
    R("erofs_mknod", mknod(P(ro, "fifo"), S_IFIFO | 0600, 0));
    R("erofs_setxattr", setxattr(P(ro, "f"), "user.x", "1", 1, 0));
    /* EXDEV */
    put(P(rw, "xd"), "x");
    R("exdev_rename", rename(P(rw, "xd"), P(other, "xd")));
    R("exdev_link", link(P(rw, "xd"), P(other, "xd")));
    unlink(P(rw, "xd"));
}

static void eacces(void) {
    mkdir(P(rw, "priv"), 0700);
    put(P(rw, "priv/in"), "x");
    put(P(rw, "secret"), "x");
    chmod(P(rw, "secret"), 0600);
    chmod(rw, 0755);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) < 0 || setuid(65534) < 0) { printf("setuid failed\n"); _exit(1); }
        struct stat st;
        O("eacces_read", open(P(rw, "secret"), O_RDONLY));
        O("eacces_search", open(P(rw, "priv/in"), O_RDONLY));
        R("eacces_stat_search", stat(P(rw, "priv/in"), &st));
        R("eacces_stat_ok", stat(P(rw, "secret"), &st));
        O("eacces_creat", open(P(rw, "nobody"), O_CREAT | O_WRONLY, 0600));
        R("eacces_mkdir", mkdir(P(rw, "nd"), 0700));
        R("eacces_unlink", unlink(P(rw, "secret")));
        R("eacces_chmod", chmod(P(rw, "secret"), 0644));
        R("eacces_access_w", access(P(rw, "secret"), W_OK));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
}

static void links(void) {
    symlink("loop2", P(rw, "loop1"));
    symlink("loop1", P(rw, "loop2"));
    O("symlink_loop", open(P(rw, "loop1"), O_RDONLY));
    struct stat st;
    R("symlink_loop_stat", stat(P(rw, "loop1"), &st));
    R("symlink_loop_lstat", lstat(P(rw, "loop1"), &st));
    symlink("self", P(rw, "self"));
    O("symlink_self", open(P(rw, "self/x"), O_RDONLY));
    symlink("missing", P(rw, "dangling"));
    O("dangling", open(P(rw, "dangling"), O_RDONLY));
    O("dangling_creat", open(P(rw, "dangling"), O_CREAT | O_WRONLY, 0600));
    R("dangling_created", lstat(P(rw, "missing"), &st));
    mkdir(P(rw, "sub"), 0755);
    symlink("..", P(rw, "sub/up"));
    get("symlink_dotdot", P(rw, "sub/up/f"));
    get("dotdot_walk", P(rw, "sub/../sub/../f"));
    /* hard links */
    put(P(rw, "h1"), "hard");
    R("link", link(P(rw, "h1"), P(rw, "h2")));
    stat(P(rw, "h1"), &st);
    printf("nlink: %ld\n", (long)st.st_nlink);
    R("link_exists", link(P(rw, "h1"), P(rw, "h2")));
    R("link_dir", link(P(rw, "sub"), P(rw, "sub2")));
    R("link_symlink", link(P(rw, "lf"), P(rw, "lf2")));
    lstat(P(rw, "lf2"), &st);
    printf("link_symlink_is_link: %d\n", S_ISLNK(st.st_mode));
    unlink(P(rw, "h1"));
    get("link_survives", P(rw, "h2"));
    /* rename */
    put(P(rw, "r1"), "one");
    put(P(rw, "r2"), "two");
    R("rename_over_file", rename(P(rw, "r1"), P(rw, "r2")));
    get("rename_result", P(rw, "r2"));
    mkdir(P(rw, "d1"), 0755);
    mkdir(P(rw, "d2"), 0755);
    R("rename_dir_over_empty_dir", rename(P(rw, "d1"), P(rw, "d2")));
    mkdir(P(rw, "d3"), 0755);
    put(P(rw, "d2/in"), "x");
    R("rename_dir_over_full_dir", rename(P(rw, "d3"), P(rw, "d2")));
    R("rename_dir_over_file", rename(P(rw, "d3"), P(rw, "r2")));
    R("rename_file_over_dir", rename(P(rw, "r2"), P(rw, "d3")));
    R("rename_into_self", rename(P(rw, "d2"), P(rw, "d2/sub")));
    R("rename_noreplace", syscall(SYS_renameat2, AT_FDCWD, P(rw, "f"), AT_FDCWD, P(rw, "r2"), 1));
    R("rename_exchange", syscall(SYS_renameat2, AT_FDCWD, P(rw, "f"), AT_FDCWD, P(rw, "r2"), 2));
    get("exchanged", P(rw, "f"));
    R("rename_missing", rename(P(rw, "nothing"), P(rw, "r9")));
}

static void sockets(void) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", P(rw, "sock"));
    R("bind", bind(s, (struct sockaddr *)&a, sizeof a));
    R("listen", listen(s, 1));
    R("bind_again", bind(c, (struct sockaddr *)&a, sizeof a));
    close(c);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    R("connect", connect(c, (struct sockaddr *)&a, sizeof a));
    int x = accept(s, NULL, NULL);
    printf("accept: %s\n", x < 0 ? ename(errno) : "OK");
    if (x >= 0) {
        if (write(c, "ping", 4) != 4) printf("sock write failed\n");
        char b[8] = {0};
        if (read(x, b, 4) != 4) printf("sock read failed\n");
        printf("sock_data: %s\n", b);
        close(x);
    }
    struct stat st;
    stat(P(rw, "sock"), &st);
    printf("sock_is_socket: %d\n", S_ISSOCK(st.st_mode));
    O("open_socket", open(P(rw, "sock"), O_RDONLY));
    close(c);
    close(s);
    int d = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(a.sun_path, sizeof a.sun_path, "%s", P(rw, "nosock"));
    R("connect_missing", connect(d, (struct sockaddr *)&a, sizeof a));
    snprintf(a.sun_path, sizeof a.sun_path, "%s", P(rw, "f"));
    R("connect_file", connect(d, (struct sockaddr *)&a, sizeof a));
    close(d);
}

static void xattrs(void) {
    long r = setxattr(P(rw, "f"), "user.pyrunsc", "v1", 2, 0);
    R("setxattr", r);
    if (r < 0)
        return;
    char b[64] = {0};
    ssize_t n = getxattr(P(rw, "f"), "user.pyrunsc", b, sizeof b);
    printf("getxattr: %zd %.*s\n", n, (int)(n < 0 ? 0 : n), b);
    R("setxattr_create_exists", setxattr(P(rw, "f"), "user.pyrunsc", "v2", 2, XATTR_CREATE));
    R("setxattr_replace_missing", setxattr(P(rw, "f"), "user.none", "v2", 2, XATTR_REPLACE));
    R("getxattr_missing", getxattr(P(rw, "f"), "user.none", b, sizeof b));
    R("getxattr_small", getxattr(P(rw, "f"), "user.pyrunsc", b, 1));
    n = listxattr(P(rw, "f"), b, sizeof b);
    int found = 0;
    for (ssize_t i = 0; n > 0 && i < n; i += strlen(b + i) + 1)
        if (strcmp(b + i, "user.pyrunsc") == 0) found = 1;
    printf("listxattr_has: %d\n", found);
    R("removexattr", removexattr(P(rw, "f"), "user.pyrunsc"));
    R("removexattr_again", removexattr(P(rw, "f"), "user.pyrunsc"));
    R("lsetxattr_symlink_user", lsetxattr(P(rw, "lf"), "user.x", "1", 1, 0));
}

static void getdents_big(void) {
    mkdir(P(rw, "big"), 0755);
    char name[64];
    for (int i = 0; i < 1500; i++) {
        snprintf(name, sizeof name, "big/file-%04d-with-a-longer-name", i);
        int fd = open(P(rw, name), O_CREAT | O_WRONLY, 0644);
        if (fd < 0) { printf("big create failed: %s\n", ename(errno)); return; }
        close(fd);
    }
    DIR *d = opendir(P(rw, "big"));
    long count = 0, sum = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        count++;
        int k;
        if (sscanf(e->d_name, "file-%d", &k) == 1) sum += k;
    }
    if (d) closedir(d);
    printf("getdents_count: %ld sum: %ld\n", count, sum);
}

static int newer(struct timespec a, struct timespec b) {
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

static void times(void) {
    struct stat s0, s1;
    put(P(rw, "t"), "x");
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    R("utimensat_set", utimensat(AT_FDCWD, P(rw, "t"), old, 0));
    stat(P(rw, "t"), &s0);
    printf("utimensat_mtime: %ld\n", (long)s0.st_mtim.tv_sec);
    printf("utimensat_atime: %ld\n", (long)s0.st_atim.tv_sec);
    int fd = open(P(rw, "t"), O_WRONLY | O_APPEND);
    if (fd >= 0) { if (write(fd, "y", 1) != 1) printf("t write failed\n"); close(fd); }
    stat(P(rw, "t"), &s1);
    printf("write_updates_mtime: %d\n", newer(s1.st_mtim, s0.st_mtim));
    /* atime: strictatime/relatime both update an atime older than mtime */
    R("utimensat_atime_old", utimensat(AT_FDCWD, P(rw, "t"), old, 0));
    struct timespec keep[2] = {{1000000000, 0}, {0, UTIME_NOW}};
    utimensat(AT_FDCWD, P(rw, "t"), keep, 0);
    char b[4];
    fd = open(P(rw, "t"), O_RDONLY);
    if (fd >= 0) { if (read(fd, b, 1) != 1) printf("t read failed\n"); close(fd); }
    stat(P(rw, "t"), &s1);
    printf("read_updates_atime: %d\n", s1.st_atim.tv_sec > 1000000000);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {2000000000, 0}};
    R("utimensat_omit", utimensat(AT_FDCWD, P(rw, "t"), omit, 0));
    stat(P(rw, "t"), &s1);
    printf("omit_mtime: %ld\n", (long)s1.st_mtim.tv_sec);
    R("utimensat_nofollow_link", utimensat(AT_FDCWD, P(rw, "lf"), old, AT_SYMLINK_NOFOLLOW));
    lstat(P(rw, "lf"), &s1);
    printf("link_mtime: %ld\n", (long)s1.st_mtim.tv_sec);
    stat(P(rw, "d2"), &s0);
    utimensat(AT_FDCWD, P(rw, "d2"), old, 0);
    stat(P(rw, "d2"), &s0);
    put(P(rw, "d2/new"), "n");
    stat(P(rw, "d2"), &s1);
    printf("create_updates_dir_mtime: %d\n", newer(s1.st_mtim, s0.st_mtim));
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s <rw dir> <ro dir> <other mount dir>\n", argv[0]);
        return 2;
    }
    rw = argv[1]; ro = argv[2]; other = argv[3];
    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(022);
    open_flags();
    errnos();
    links();
    sockets();
    xattrs();
    getdents_big();
    times();
    eacces();
    return 0;
}
