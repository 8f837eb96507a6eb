/*
 * probe: reports what a container process sees of itself, as one JSON object
 * on stdout.  Built with `gcc -static` by the conformance suite and copied into
 * the bundle's rootfs; it must not depend on anything in the rootfs.
 *
 * Always reported: ids and groups, umask, cwd, hostname, environment, rlimits,
 * no_new_privs, raw /proc/self/{status,mountinfo,cgroup,oom_score_adj},
 * namespace links.  Arguments ask for more, one "verb=path" each:
 *
 *   stat=P     lstat(2): type, major, minor, mode, uid, gid, size or errno
 *   read=P     the first 4 KiB of P (or its errno)
 *   write=P    open(P, O_WRONLY|O_CREAT|O_TRUNC) + write(2): errno or 0
 *   list=P     directory entries of P (or its errno)
 *   open=P     open(P, O_RDONLY|O_NONBLOCK) then close: errno or 0
 *   sysctl=N   /proc/sys/<N with '.' as '/'>, whitespace trimmed
 *
 * The probe never fails on a missing file: it reports the errno instead.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static int first;

static void json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void cstr(const char *s)
{
    json_str(s, strlen(s));
}

static void key(const char *k)
{
    if (!first)
        putchar(',');
    first = 0;
    cstr(k);
    putchar(':');
}

/* Read a whole (small) file; returns length or -errno.  */
static long slurp(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    while (n < size) {
        ssize_t r = read(fd, buf + n, size - n);
        if (r < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    return (long)n;
}

static void file_field(const char *k, const char *path)
{
    static char buf[1 << 16];
    long n = slurp(path, buf, sizeof(buf));
    key(k);
    if (n < 0)
        printf("{\"errno\":%ld}", -n);
    else
        json_str(buf, (size_t)n);
}

static const struct { const char *name; int res; } rlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU}, {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

static void report_stat(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        printf("{\"errno\":%d}", errno);
        return;
    }
    const char *type = "?";
    switch (st.st_mode & S_IFMT) {
    case S_IFREG: type = "f"; break;
    case S_IFDIR: type = "d"; break;
    case S_IFCHR: type = "c"; break;
    case S_IFBLK: type = "b"; break;
    case S_IFIFO: type = "p"; break;
    case S_IFLNK: type = "l"; break;
    case S_IFSOCK: type = "s"; break;
    }
    printf("{\"type\":\"%s\",\"major\":%u,\"minor\":%u,\"mode\":%u,"
           "\"uid\":%u,\"gid\":%u,\"size\":%lld,\"ino\":%llu}",
           type, major(st.st_rdev), minor(st.st_rdev),
           (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
           (unsigned)st.st_gid, (long long)st.st_size,
           (unsigned long long)st.st_ino);
}

static void report_read(const char *path)
{
    static char buf[4096];
    long n = slurp(path, buf, sizeof(buf));
    if (n < 0) {
        printf("{\"errno\":%ld}", -n);
        return;
    }
    printf("{\"errno\":0,\"data\":");
    json_str(buf, (size_t)n);
    putchar('}');
}

static void report_write(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        printf("{\"errno\":%d}", errno);
        return;
    }
    int e = 0;
    if (write(fd, "probe\n", 6) < 0)
        e = errno;
    close(fd);
    printf("{\"errno\":%d}", e);
}

static void report_open(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        printf("{\"errno\":%d}", errno);
        return;
    }
    close(fd);
    printf("{\"errno\":0}");
}

static void report_list(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        printf("{\"errno\":%d}", errno);
        return;
    }
    printf("{\"errno\":0,\"entries\":[");
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n++)
            putchar(',');
        cstr(de->d_name);
    }
    closedir(d);
    printf("]}");
}

static void report_sysctl(const char *name)
{
    char path[PATH_MAX], buf[4096];
    snprintf(path, sizeof(path), "/proc/sys/%s", name);
    for (char *p = path + strlen("/proc/sys/"); *p; p++)
        if (*p == '.')
            *p = '/';
    long n = slurp(path, buf, sizeof(buf) - 1);
    if (n < 0) {
        printf("{\"errno\":%ld}", -n);
        return;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    printf("{\"errno\":0,\"value\":");
    json_str(buf, (size_t)n);
    putchar('}');
}

int main(int argc, char **argv)
{
    first = 1;
    putchar('{');

    key("pid");
    printf("%d", (int)getpid());
    key("ppid");
    printf("%d", (int)getppid());
    key("uid");
    printf("%u", (unsigned)getuid());
    key("euid");
    printf("%u", (unsigned)geteuid());
    key("gid");
    printf("%u", (unsigned)getgid());
    key("egid");
    printf("%u", (unsigned)getegid());

    gid_t groups[NGROUPS_MAX];
    int ng = getgroups(NGROUPS_MAX, groups);
    key("groups");
    putchar('[');
    for (int i = 0; i < ng; i++)
        printf(i ? ",%u" : "%u", (unsigned)groups[i]);
    putchar(']');

    mode_t mask = umask(0);
    umask(mask);
    key("umask");
    printf("%u", (unsigned)mask);

    char cwd[PATH_MAX];
    key("cwd");
    if (getcwd(cwd, sizeof(cwd)))
        cstr(cwd);
    else
        printf("null");

    struct utsname u;
    uname(&u);
    key("hostname");
    cstr(u.nodename);
    key("domainname");
    cstr(u.domainname);

    key("env");
    putchar('[');
    for (char **e = environ; *e; e++) {
        if (e != environ)
            putchar(',');
        cstr(*e);
    }
    putchar(']');

    key("args");
    putchar('[');
    for (int i = 0; i < argc; i++) {
        if (i)
            putchar(',');
        cstr(argv[i]);
    }
    putchar(']');

    key("rlimits");
    putchar('{');
    for (size_t i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++) {
        struct rlimit rl;
        if (i)
            putchar(',');
        cstr(rlimits[i].name);
        if (getrlimit(rlimits[i].res, &rl) < 0)
            printf(":null");
        else
            printf(":[%llu,%llu]", (unsigned long long)rl.rlim_cur,
                   (unsigned long long)rl.rlim_max);
    }
    putchar('}');

    key("no_new_privs");
    printf("%d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));

    file_field("status", "/proc/self/status");
    file_field("mountinfo", "/proc/self/mountinfo");
    file_field("cgroup", "/proc/self/cgroup");
    file_field("oom_score_adj", "/proc/self/oom_score_adj");

    static const char *nss[] = {"cgroup", "ipc", "mnt", "net", "pid",
                                "user", "uts"};
    key("ns");
    putchar('{');
    for (size_t i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
        char path[64], link[128];
        snprintf(path, sizeof(path), "/proc/self/ns/%s", nss[i]);
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        if (i)
            putchar(',');
        cstr(nss[i]);
        putchar(':');
        if (n < 0) {
            printf("null");
        } else {
            link[n] = 0;
            cstr(link);
        }
    }
    putchar('}');

    key("checks");
    putchar('[');
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (i > 1)
            putchar(',');
        if (!eq) {
            printf("{\"arg\":");
            cstr(argv[i]);
            printf(",\"result\":null}");
            continue;
        }
        *eq = 0;
        const char *verb = argv[i], *arg = eq + 1;
        printf("{\"verb\":");
        cstr(verb);
        printf(",\"arg\":");
        cstr(arg);
        printf(",\"result\":");
        if (!strcmp(verb, "stat"))
            report_stat(arg);
        else if (!strcmp(verb, "read"))
            report_read(arg);
        else if (!strcmp(verb, "write"))
            report_write(arg);
        else if (!strcmp(verb, "open"))
            report_open(arg);
        else if (!strcmp(verb, "list"))
            report_list(arg);
        else if (!strcmp(verb, "sysctl"))
            report_sysctl(arg);
        else
            printf("null");
        putchar('}');
        *eq = '=';
    }
    putchar(']');

    printf("}\n");
    fflush(stdout);
    return 0;
}
