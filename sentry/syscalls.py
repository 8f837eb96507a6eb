"""THE syscall table: every x86-64 syscall number, classified.

One entry per syscall the kernel this was written against (Linux 6.18)
knows: 0..335 and 424..469 (336..423 were never assigned on x86-64; the
numbering skipped to 424 to line up all architectures).  Each entry says
what the sentry's seccomp filter does with the call:

* ``allow`` -- the host kernel runs it: fd-based I/O on fds the app holds,
  memory, futex, time, signals, pipes, epoll, sockets, scheduling.
* ``trap``  -- the sentry emulates it (SECCOMP_RET_USER_NOTIF on the
  seccomp platform, SECCOMP_RET_TRACE on ptrace): everything that takes a
  path or a dirfd, bind/connect (AF_UNIX paths), and the identity calls the
  sentry virtualises (uname, sethostname, setdomainname).
* ``deny``  -- fails with ``errno`` without reaching the kernel.

Some entries carry argument ``rules`` that refine the class (clone with
CLONE_NEW* flags is denied; utimensat with a NULL path is fd-based and
allowed).  Numbers not in the table get ENOSYS, the filter's default.

The filter (sentry/filter.py), the platforms' dispatch tables
(``trapped_numbers``) and ``pyrunsc syscalls`` are all generated from this
data; tests/unit/test_syscall_table.py checks its invariants.
"""

import errno as _errno
import json
from typing import NamedTuple

ALLOW, TRAP, DENY = "allow", "trap", "deny"
CLASSES = (ALLOW, TRAP, DENY)

#: Highest syscall number of the kernel the table follows (file_setattr).
MAX_NR = 469
#: Numbers never assigned on x86-64: the filter answers ENOSYS.
UNASSIGNED = range(336, 424)

EPERM, ENOSYS = _errno.EPERM, _errno.ENOSYS

# clone(2)/unshare(2) flags that create namespaces.  CLONE_NEWTIME (0x80)
# only exists for unshare/clone3: in clone(2) the low byte is the exit
# signal.
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080
CLONE_NS_FLAGS = (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC
                  | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)
UNSHARE_NS_FLAGS = CLONE_NS_FLAGS | CLONE_NEWTIME

SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3


class Rule(NamedTuple):
    """One argument-dependent outcome: ``cls`` when every cond holds.

    ``conds`` are ``(arg_index, op, value[, value2])`` with op one of NE LT
    LE EQ GE GT MASKED_EQ (libseccomp's comparisons; for MASKED_EQ value is
    the mask and value2 the expected result).  The rules of one entry must
    cover every argument value between them.
    """
    cls: str
    conds: tuple
    errno: int = 0


class Syscall(NamedTuple):
    nr: int
    name: str
    cls: str
    errno: int = 0
    note: str = ""
    rules: tuple = ()


def _bits(mask):
    return [1 << i for i in range(64) if mask >> i & 1]


def _ns_rules(mask):
    # Allowed when no namespace flag is set; EPERM for each flag that is.
    allow = Rule(ALLOW, ((0, "MASKED_EQ", mask, 0),))
    return (allow,) + tuple(Rule(DENY, ((0, "MASKED_EQ", bit, bit),), EPERM)
                            for bit in _bits(mask))


_CLONE_RULES = _ns_rules(CLONE_NS_FLAGS)
_UNSHARE_RULES = _ns_rules(UNSHARE_NS_FLAGS)
# seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER, ...) is refused: a listener
# of the app's own would outrank the sentry's traps.  Other operations
# (SET_MODE_STRICT, GET_ACTION_AVAIL, GET_NOTIF_SIZES) take no such flag.
_SECCOMP_RULES = (
    Rule(DENY, ((0, "EQ", SECCOMP_SET_MODE_FILTER),
                (1, "MASKED_EQ", SECCOMP_FILTER_FLAG_NEW_LISTENER,
                 SECCOMP_FILTER_FLAG_NEW_LISTENER)), EPERM),
    Rule(ALLOW, ((0, "NE", SECCOMP_SET_MODE_FILTER),)),
    Rule(ALLOW, ((1, "MASKED_EQ", SECCOMP_FILTER_FLAG_NEW_LISTENER, 0),)),
)
# A NULL pathname makes utimensat act on the fd itself (futimens(3)).
_UTIMENSAT_RULES = (Rule(ALLOW, ((1, "EQ", 0),)), Rule(TRAP, ((1, "NE", 0),)))
# sendto with a NULL address goes to the connected peer; with an address it
# may name an AF_UNIX path, which the sentry resolves.
_SENDTO_RULES = (Rule(ALLOW, ((4, "EQ", 0),)), Rule(TRAP, ((4, "NE", 0),)))

_A, _T, _D = ALLOW, TRAP, DENY
_CHECKED = "path checked by the sentry, then run by the kernel"

# (nr, name, class, errno, note[, rules])
_ROWS = [
    (0, "read", _A, 0, "fd I/O"),
    (1, "write", _A, 0, "fd I/O"),
    (2, "open", _T, 0, "path"),
    (3, "close", _A, 0, "fd"),
    (4, "stat", _T, 0, "path"),
    (5, "fstat", _A, 0, "fd"),
    (6, "lstat", _T, 0, "path"),
    (7, "poll", _A, 0, "fd polling"),
    (8, "lseek", _A, 0, "fd"),
    (9, "mmap", _A, 0, "memory"),
    (10, "mprotect", _A, 0, "memory"),
    (11, "munmap", _A, 0, "memory"),
    (12, "brk", _A, 0, "memory"),
    (13, "rt_sigaction", _A, 0, "signals"),
    (14, "rt_sigprocmask", _A, 0, "signals"),
    (15, "rt_sigreturn", _A, 0, "signals"),
    (16, "ioctl", _A, 0, "fd"),
    (17, "pread64", _A, 0, "fd I/O"),
    (18, "pwrite64", _A, 0, "fd I/O"),
    (19, "readv", _A, 0, "fd I/O"),
    (20, "writev", _A, 0, "fd I/O"),
    (21, "access", _T, 0, "path"),
    (22, "pipe", _A, 0, "pipes"),
    (23, "select", _A, 0, "fd polling"),
    (24, "sched_yield", _A, 0, "scheduling"),
    (25, "mremap", _A, 0, "memory"),
    (26, "msync", _A, 0, "memory"),
    (27, "mincore", _A, 0, "memory"),
    (28, "madvise", _A, 0, "memory"),
    (29, "shmget", _A, 0, "SysV IPC (IPC namespace)"),
    (30, "shmat", _A, 0, "SysV IPC"),
    (31, "shmctl", _A, 0, "SysV IPC"),
    (32, "dup", _A, 0, "fd"),
    (33, "dup2", _A, 0, "fd"),
    (34, "pause", _A, 0, "signals"),
    (35, "nanosleep", _A, 0, "time"),
    (36, "getitimer", _A, 0, "time"),
    (37, "alarm", _A, 0, "time"),
    (38, "setitimer", _A, 0, "time"),
    (39, "getpid", _A, 0, "pid namespace gives container pids"),
    (40, "sendfile", _A, 0, "fd I/O"),
    (41, "socket", _A, 0, "sockets (container netns)"),
    (42, "connect", _T, 0,
     "AF_UNIX paths served; other families continued to the kernel"),
    (43, "accept", _A, 0, "sockets"),
    (44, "sendto", _A, 0,
     "allowed with a NULL address; an address may be an AF_UNIX path: trap",
     _SENDTO_RULES),
    (45, "recvfrom", _A, 0, "sockets"),
    (46, "sendmsg", _A, 0,
     "N.B. msg_name is in memory, not filterable: an AF_UNIX path there is "
     "resolved by the kernel in the container's mount namespace (backstop)"),
    (47, "recvmsg", _A, 0, "sockets"),
    (48, "shutdown", _A, 0, "sockets"),
    (49, "bind", _T, 0,
     "AF_UNIX paths served; other families continued to the kernel"),
    (50, "listen", _A, 0, "sockets"),
    (51, "getsockname", _A, 0, "sockets"),
    (52, "getpeername", _A, 0, "sockets"),
    (53, "socketpair", _A, 0, "sockets"),
    (54, "setsockopt", _A, 0, "sockets"),
    (55, "getsockopt", _A, 0, "sockets"),
    (56, "clone", _A, 0, "threads/processes; EPERM with CLONE_NEW* flags",
     _CLONE_RULES),
    (57, "fork", _A, 0, "processes"),
    (58, "vfork", _A, 0, "processes"),
    (59, "execve", _T, 0, _CHECKED),
    (60, "exit", _A, 0, "processes"),
    (61, "wait4", _A, 0, "processes"),
    (62, "kill", _A, 0, "signals (pid namespace)"),
    (63, "uname", _T, 0,
     "virtualised: the sentry answers for the container's machine"),
    (64, "semget", _A, 0, "SysV IPC"),
    (65, "semop", _A, 0, "SysV IPC"),
    (66, "semctl", _A, 0, "SysV IPC"),
    (67, "shmdt", _A, 0, "SysV IPC"),
    (68, "msgget", _A, 0, "SysV IPC"),
    (69, "msgsnd", _A, 0, "SysV IPC"),
    (70, "msgrcv", _A, 0, "SysV IPC"),
    (71, "msgctl", _A, 0, "SysV IPC"),
    (72, "fcntl", _A, 0, "fd"),
    (73, "flock", _A, 0, "fd"),
    (74, "fsync", _A, 0, "fd"),
    (75, "fdatasync", _A, 0, "fd"),
    (76, "truncate", _T, 0, "path"),
    (77, "ftruncate", _A, 0, "fd"),
    (78, "getdents", _A, 0, "fd"),
    (79, "getcwd", _A, 0, "the kernel's cwd mirrors the sentry's (chdir)"),
    (80, "chdir", _T, 0, _CHECKED),
    (81, "fchdir", _T, 0, "checked by the sentry, then run by the kernel"),
    (82, "rename", _T, 0, "path"),
    (83, "mkdir", _T, 0, "path"),
    (84, "rmdir", _T, 0, "path"),
    (85, "creat", _T, 0, "path"),
    (86, "link", _T, 0, "path"),
    (87, "unlink", _T, 0, "path"),
    (88, "symlink", _T, 0, "path"),
    (89, "readlink", _T, 0, "path"),
    (90, "chmod", _T, 0, "path"),
    (91, "fchmod", _A, 0, "fd"),
    (92, "chown", _T, 0, "path"),
    (93, "fchown", _A, 0, "fd"),
    (94, "lchown", _T, 0, "path"),
    (95, "umask", _A, 0, "process state"),
    (96, "gettimeofday", _A, 0, "time"),
    (97, "getrlimit", _A, 0, "resources"),
    (98, "getrusage", _A, 0, "resources"),
    (99, "sysinfo", _A, 0, "resources"),
    (100, "times", _A, 0, "time"),
    (101, "ptrace", _D, EPERM,
     "would let one app process rewrite another's trapped arguments"),
    (102, "getuid", _A, 0, "credentials (user namespace)"),
    (103, "syslog", _D, EPERM, "host kernel log"),
    (104, "getgid", _A, 0, "credentials"),
    (105, "setuid", _A, 0, "credentials"),
    (106, "setgid", _A, 0, "credentials"),
    (107, "geteuid", _A, 0, "credentials"),
    (108, "getegid", _A, 0, "credentials"),
    (109, "setpgid", _A, 0, "process groups"),
    (110, "getppid", _A, 0, "pid namespace"),
    (111, "getpgrp", _A, 0, "process groups"),
    (112, "setsid", _A, 0, "sessions"),
    (113, "setreuid", _A, 0, "credentials"),
    (114, "setregid", _A, 0, "credentials"),
    (115, "getgroups", _A, 0, "credentials"),
    (116, "setgroups", _A, 0, "credentials"),
    (117, "setresuid", _A, 0, "credentials"),
    (118, "getresuid", _A, 0, "credentials"),
    (119, "setresgid", _A, 0, "credentials"),
    (120, "getresgid", _A, 0, "credentials"),
    (121, "getpgid", _A, 0, "process groups"),
    (122, "setfsuid", _A, 0, "credentials"),
    (123, "setfsgid", _A, 0, "credentials"),
    (124, "getsid", _A, 0, "sessions"),
    (125, "capget", _A, 0, "capabilities"),
    (126, "capset", _A, 0, "capabilities (can only drop)"),
    (127, "rt_sigpending", _A, 0, "signals"),
    (128, "rt_sigtimedwait", _A, 0, "signals"),
    (129, "rt_sigqueueinfo", _A, 0, "signals"),
    (130, "rt_sigsuspend", _A, 0, "signals"),
    (131, "sigaltstack", _A, 0, "signals"),
    (132, "utime", _T, 0, "path"),
    (133, "mknod", _T, 0, "path"),
    (134, "uselib", _D, ENOSYS, "obsolete"),
    (135, "personality", _A, 0, "process state"),
    (136, "ustat", _D, ENOSYS, "obsolete; names a host device"),
    (137, "statfs", _T, 0, "path"),
    (138, "fstatfs", _A, 0, "fd"),
    (139, "sysfs", _D, ENOSYS, "obsolete"),
    (140, "getpriority", _A, 0, "scheduling"),
    (141, "setpriority", _A, 0, "scheduling"),
    (142, "sched_setparam", _A, 0, "scheduling"),
    (143, "sched_getparam", _A, 0, "scheduling"),
    (144, "sched_setscheduler", _A, 0, "scheduling"),
    (145, "sched_getscheduler", _A, 0, "scheduling"),
    (146, "sched_get_priority_max", _A, 0, "scheduling"),
    (147, "sched_get_priority_min", _A, 0, "scheduling"),
    (148, "sched_rr_get_interval", _A, 0, "scheduling"),
    (149, "mlock", _A, 0, "memory (RLIMIT_MEMLOCK)"),
    (150, "munlock", _A, 0, "memory"),
    (151, "mlockall", _A, 0, "memory (RLIMIT_MEMLOCK)"),
    (152, "munlockall", _A, 0, "memory"),
    (153, "vhangup", _D, EPERM, "host terminal control"),
    (154, "modify_ldt", _D, EPERM, "16/32-bit segments; as gVisor"),
    (155, "pivot_root", _D, EPERM, "mount family"),
    (156, "_sysctl", _D, ENOSYS, "removed in Linux 5.5; use /proc/sys"),
    (157, "prctl", _A, 0, "process state"),
    (158, "arch_prctl", _A, 0, "TLS"),
    (159, "adjtimex", _D, EPERM, "clock setting"),
    (160, "setrlimit", _A, 0, "resources"),
    (161, "chroot", _T, 0, "path"),
    (162, "sync", _A, 0, "fs"),
    (163, "acct", _D, EPERM, "host process accounting"),
    (164, "settimeofday", _D, EPERM, "clock setting"),
    (165, "mount", _D, EPERM, "mount family"),
    (166, "umount2", _D, EPERM, "mount family"),
    (167, "swapon", _D, EPERM, "swap"),
    (168, "swapoff", _D, EPERM, "swap"),
    (169, "reboot", _D, EPERM, "machine"),
    (170, "sethostname", _T, 0, "virtualised with uname"),
    (171, "setdomainname", _T, 0, "virtualised with uname"),
    (172, "iopl", _D, EPERM, "raw I/O ports"),
    (173, "ioperm", _D, EPERM, "raw I/O ports"),
    (174, "create_module", _D, ENOSYS, "obsolete"),
    (175, "init_module", _D, EPERM, "kernel modules"),
    (176, "delete_module", _D, EPERM, "kernel modules"),
    (177, "get_kernel_syms", _D, ENOSYS, "obsolete"),
    (178, "query_module", _D, ENOSYS, "obsolete"),
    (179, "quotactl", _D, EPERM, "names a host block device"),
    (180, "nfsservctl", _D, ENOSYS, "removed in Linux 3.1"),
    (181, "getpmsg", _D, ENOSYS, "not implemented by Linux"),
    (182, "putpmsg", _D, ENOSYS, "not implemented by Linux"),
    (183, "afs_syscall", _D, ENOSYS, "not implemented by Linux"),
    (184, "tuxcall", _D, ENOSYS, "not implemented by Linux"),
    (185, "security", _D, ENOSYS, "not implemented by Linux"),
    (186, "gettid", _A, 0, "pid namespace"),
    (187, "readahead", _A, 0, "fd"),
    (188, "setxattr", _T, 0, "path xattr"),
    (189, "lsetxattr", _T, 0, "path xattr"),
    (190, "fsetxattr", _A, 0, "fd xattr"),
    (191, "getxattr", _T, 0, "path xattr"),
    (192, "lgetxattr", _T, 0, "path xattr"),
    (193, "fgetxattr", _A, 0, "fd xattr"),
    (194, "listxattr", _T, 0, "path xattr"),
    (195, "llistxattr", _T, 0, "path xattr"),
    (196, "flistxattr", _A, 0, "fd xattr"),
    (197, "removexattr", _T, 0, "path xattr"),
    (198, "lremovexattr", _T, 0, "path xattr"),
    (199, "fremovexattr", _A, 0, "fd xattr"),
    (200, "tkill", _A, 0, "signals"),
    (201, "time", _A, 0, "time"),
    (202, "futex", _A, 0, "futex"),
    (203, "sched_setaffinity", _A, 0, "scheduling (cpuset cgroup)"),
    (204, "sched_getaffinity", _T, 0,
     "the container's CPU quota as its online CPUs (sentry/fs)"),
    (205, "set_thread_area", _D, ENOSYS, "32-bit TLS; as gVisor on 64-bit"),
    (206, "io_setup", _A, 0, "Linux AIO on fds"),
    (207, "io_destroy", _A, 0, "Linux AIO"),
    (208, "io_getevents", _A, 0, "Linux AIO"),
    (209, "io_submit", _A, 0, "Linux AIO on fds"),
    (210, "io_cancel", _A, 0, "Linux AIO"),
    (211, "get_thread_area", _D, ENOSYS, "32-bit TLS; as gVisor on 64-bit"),
    (212, "lookup_dcookie", _D, EPERM, "host profiling (removed in 6.10)"),
    (213, "epoll_create", _A, 0, "epoll"),
    (214, "epoll_ctl_old", _D, ENOSYS, "not implemented by Linux"),
    (215, "epoll_wait_old", _D, ENOSYS, "not implemented by Linux"),
    (216, "remap_file_pages", _A, 0, "memory (deprecated, emulated)"),
    (217, "getdents64", _A, 0, "fd"),
    (218, "set_tid_address", _A, 0, "threads"),
    (219, "restart_syscall", _A, 0, "signals"),
    (220, "semtimedop", _A, 0, "SysV IPC"),
    (221, "fadvise64", _A, 0, "fd"),
    (222, "timer_create", _A, 0, "time"),
    (223, "timer_settime", _A, 0, "time"),
    (224, "timer_gettime", _A, 0, "time"),
    (225, "timer_getoverrun", _A, 0, "time"),
    (226, "timer_delete", _A, 0, "time"),
    (227, "clock_settime", _D, EPERM, "clock setting"),
    (228, "clock_gettime", _A, 0, "time"),
    (229, "clock_getres", _A, 0, "time"),
    (230, "clock_nanosleep", _A, 0, "time"),
    (231, "exit_group", _A, 0, "processes"),
    (232, "epoll_wait", _A, 0, "epoll"),
    (233, "epoll_ctl", _A, 0, "epoll"),
    (234, "tgkill", _A, 0, "signals"),
    (235, "utimes", _T, 0, "path"),
    (236, "vserver", _D, ENOSYS, "not implemented by Linux"),
    (237, "mbind", _A, 0, "memory policy"),
    (238, "set_mempolicy", _A, 0, "memory policy"),
    (239, "get_mempolicy", _A, 0, "memory policy"),
    (240, "mq_open", _A, 0, "POSIX mqueue (IPC namespace, not a VFS path)"),
    (241, "mq_unlink", _A, 0, "POSIX mqueue (IPC namespace)"),
    (242, "mq_timedsend", _A, 0, "POSIX mqueue"),
    (243, "mq_timedreceive", _A, 0, "POSIX mqueue"),
    (244, "mq_notify", _A, 0, "POSIX mqueue"),
    (245, "mq_getsetattr", _A, 0, "POSIX mqueue"),
    (246, "kexec_load", _D, EPERM, "kexec"),
    (247, "waitid", _A, 0, "processes"),
    (248, "add_key", _D, EPERM, "kernel keyring is not namespaced"),
    (249, "request_key", _D, EPERM, "kernel keyring is not namespaced"),
    (250, "keyctl", _D, EPERM, "kernel keyring is not namespaced"),
    (251, "ioprio_set", _A, 0, "scheduling"),
    (252, "ioprio_get", _A, 0, "scheduling"),
    (253, "inotify_init", _A, 0, "fd"),
    (254, "inotify_add_watch", _T, 0, "path"),
    (255, "inotify_rm_watch", _A, 0, "fd"),
    (256, "migrate_pages", _A, 0,
     "memory policy (kernel checks CAP_SYS_NICE)"),
    (257, "openat", _T, 0, "path"),
    (258, "mkdirat", _T, 0, "path"),
    (259, "mknodat", _T, 0, "path"),
    (260, "fchownat", _T, 0, "path"),
    (261, "futimesat", _T, 0, "path"),
    (262, "newfstatat", _T, 0,
     "path; N.B. glibc's fstat() is newfstatat(fd, \"\", AT_EMPTY_PATH)"),
    (263, "unlinkat", _T, 0, "path"),
    (264, "renameat", _T, 0, "path"),
    (265, "linkat", _T, 0, "path"),
    (266, "symlinkat", _T, 0, "path"),
    (267, "readlinkat", _T, 0, "path"),
    (268, "fchmodat", _T, 0, "path"),
    (269, "faccessat", _T, 0, "path"),
    (270, "pselect6", _A, 0, "fd polling"),
    (271, "ppoll", _A, 0, "fd polling"),
    (272, "unshare", _A, 0,
     "allowed for CLONE_FILES/CLONE_FS/...; EPERM with CLONE_NEW* flags",
     _UNSHARE_RULES),
    (273, "set_robust_list", _A, 0, "futex"),
    (274, "get_robust_list", _A, 0, "futex"),
    (275, "splice", _A, 0, "fd I/O"),
    (276, "tee", _A, 0, "fd I/O"),
    (277, "sync_file_range", _A, 0, "fd"),
    (278, "vmsplice", _A, 0, "fd I/O"),
    (279, "move_pages", _A, 0, "memory policy (kernel checks CAP_SYS_NICE)"),
    (280, "utimensat", _T, 0, "path; allowed with a NULL path (futimens)",
     _UTIMENSAT_RULES),
    (281, "epoll_pwait", _A, 0, "epoll"),
    (282, "signalfd", _A, 0, "signals"),
    (283, "timerfd_create", _A, 0, "time"),
    (284, "eventfd", _A, 0, "fd"),
    (285, "fallocate", _A, 0, "fd"),
    (286, "timerfd_settime", _A, 0, "time"),
    (287, "timerfd_gettime", _A, 0, "time"),
    (288, "accept4", _A, 0, "sockets"),
    (289, "signalfd4", _A, 0, "signals"),
    (290, "eventfd2", _A, 0, "fd"),
    (291, "epoll_create1", _A, 0, "epoll"),
    (292, "dup3", _A, 0, "fd"),
    (293, "pipe2", _A, 0, "pipes"),
    (294, "inotify_init1", _A, 0, "fd"),
    (295, "preadv", _A, 0, "fd I/O"),
    (296, "pwritev", _A, 0, "fd I/O"),
    (297, "rt_tgsigqueueinfo", _A, 0, "signals"),
    (298, "perf_event_open", _D, EPERM,
     "host perf counters (gVisor answers ENODEV)"),
    (299, "recvmmsg", _A, 0, "sockets"),
    (300, "fanotify_init", _A, 0, "fd (kernel checks CAP_SYS_ADMIN)"),
    (301, "fanotify_mark", _T, 0, "path"),
    (302, "prlimit64", _A, 0, "resources (pid namespace)"),
    (303, "name_to_handle_at", _T, 0, "path"),
    (304, "open_by_handle_at", _D, EPERM,
     "opens host files by handle, past any mount (the 'shocker' escape)"),
    (305, "clock_adjtime", _D, EPERM, "clock setting"),
    (306, "syncfs", _A, 0, "fd"),
    (307, "sendmmsg", _A, 0, "sockets (see sendmsg)"),
    (308, "setns", _D, EPERM, "namespace change"),
    (309, "getcpu", _A, 0, "scheduling"),
    (310, "process_vm_readv", _D, EPERM,
     "another process's memory: could race the sentry's argument checks"),
    (311, "process_vm_writev", _D, EPERM,
     "another process's memory: could rewrite a trapped thread's arguments"),
    (312, "kcmp", _D, EPERM, "compares other processes' kernel objects"),
    (313, "finit_module", _D, EPERM, "kernel modules"),
    (314, "sched_setattr", _A, 0, "scheduling"),
    (315, "sched_getattr", _A, 0, "scheduling"),
    (316, "renameat2", _T, 0, "path"),
    (317, "seccomp", _A, 0,
     "own filters allowed; EPERM for SECCOMP_FILTER_FLAG_NEW_LISTENER",
     _SECCOMP_RULES),
    (318, "getrandom", _A, 0, "entropy"),
    (319, "memfd_create", _A, 0, "anonymous memory fd, no path"),
    (320, "kexec_file_load", _D, EPERM, "kexec"),
    (321, "bpf", _D, EPERM, "eBPF programs run in the host kernel"),
    (322, "execveat", _T, 0, _CHECKED),
    (323, "userfaultfd", _D, ENOSYS, "page-fault handling; as gVisor"),
    (324, "membarrier", _A, 0, "memory"),
    (325, "mlock2", _A, 0, "memory"),
    (326, "copy_file_range", _A, 0, "fd I/O"),
    (327, "preadv2", _A, 0, "fd I/O"),
    (328, "pwritev2", _A, 0, "fd I/O"),
    (329, "pkey_mprotect", _A, 0, "memory"),
    (330, "pkey_alloc", _A, 0, "memory"),
    (331, "pkey_free", _A, 0, "memory"),
    (332, "statx", _T, 0, "path"),
    (333, "io_pgetevents", _A, 0, "Linux AIO"),
    (334, "rseq", _A, 0, "threads"),
    (335, "uretprobe", _A, 0,
     "only valid from the kernel's uretprobe trampoline (6.11)"),
    (424, "pidfd_send_signal", _A, 0, "signals (pid namespace)"),
    (425, "io_uring_setup", _D, ENOSYS,
     "io_uring would perform opens etc. past the filter"),
    (426, "io_uring_enter", _D, ENOSYS, "io_uring"),
    (427, "io_uring_register", _D, ENOSYS, "io_uring"),
    (428, "open_tree", _D, EPERM, "mount family"),
    (429, "move_mount", _D, EPERM, "mount family"),
    (430, "fsopen", _D, EPERM, "mount family"),
    (431, "fsconfig", _D, EPERM, "mount family"),
    (432, "fsmount", _D, EPERM, "mount family"),
    (433, "fspick", _D, EPERM, "mount family"),
    (434, "pidfd_open", _A, 0, "processes (pid namespace)"),
    (435, "clone3", _D, ENOSYS,
     "flags are in memory, not filterable: ENOSYS makes libc fall back to "
     "clone (as Docker does)"),
    (436, "close_range", _A, 0, "fd"),
    (437, "openat2", _T, 0, "path"),
    (438, "pidfd_getfd", _D, EPERM,
     "takes another process's fd (ptrace rights)"),
    (439, "faccessat2", _T, 0, "path"),
    (440, "process_madvise", _D, EPERM, "another process's memory"),
    (441, "epoll_pwait2", _A, 0, "epoll"),
    (442, "mount_setattr", _D, EPERM, "mount family"),
    (443, "quotactl_fd", _D, EPERM, "quota"),
    (444, "landlock_create_ruleset", _A, 0, "self-restriction"),
    (445, "landlock_add_rule", _A, 0, "self-restriction (fd based)"),
    (446, "landlock_restrict_self", _A, 0, "self-restriction"),
    (447, "memfd_secret", _D, ENOSYS, "secret memory; as gVisor"),
    (448, "process_mrelease", _A, 0, "memory of a dying process (pidfd)"),
    (449, "futex_waitv", _A, 0, "futex"),
    (450, "set_mempolicy_home_node", _A, 0, "memory policy"),
    (451, "cachestat", _A, 0, "fd"),
    (452, "fchmodat2", _T, 0, "path"),
    (453, "map_shadow_stack", _A, 0, "memory"),
    (454, "futex_wake", _A, 0, "futex"),
    (455, "futex_wait", _A, 0, "futex"),
    (456, "futex_requeue", _A, 0, "futex"),
    (457, "statmount", _D, ENOSYS,
     "host mount introspection; the sentry serves /proc/self/mountinfo"),
    (458, "listmount", _D, ENOSYS,
     "host mount introspection; the sentry serves /proc/self/mountinfo"),
    (459, "lsm_get_self_attr", _D, ENOSYS, "host LSM state"),
    (460, "lsm_set_self_attr", _D, ENOSYS, "host LSM state"),
    (461, "lsm_list_modules", _D, ENOSYS, "host LSM state"),
    (462, "mseal", _A, 0, "memory"),
    (463, "setxattrat", _T, 0, "path xattr"),
    (464, "getxattrat", _T, 0, "path xattr"),
    (465, "listxattrat", _T, 0, "path xattr"),
    (466, "removexattrat", _T, 0, "path xattr"),
    (467, "open_tree_attr", _D, EPERM, "mount family"),
    (468, "file_getattr", _T, 0, "path"),
    (469, "file_setattr", _T, 0, "path"),
]


def _build():
    table = []
    for row in _ROWS:
        nr, name, cls, err, note = row[:5]
        rules = row[5] if len(row) > 5 else ()
        table.append(Syscall(nr, name, cls, err, note, rules))
    return tuple(table)


#: Every entry, in number order.
TABLE = _build()
BY_NR = {s.nr: s for s in TABLE}
BY_NAME = {s.name: s for s in TABLE}


def lookup(name_or_nr):
    """The entry for a syscall name or number; KeyError if there is none."""
    if isinstance(name_or_nr, int):
        return BY_NR[name_or_nr]
    key = str(name_or_nr)
    if key.isdigit():
        return BY_NR[int(key)]
    return BY_NAME[key]


def numbers(cls):
    """Sorted numbers of the entries of class ``cls``."""
    return [s.nr for s in TABLE if s.cls == cls]


def _errname(err):
    return _errno.errorcode.get(err, str(err)) if err else ""


def format_table(fmt="table"):
    """The table for ``pyrunsc syscalls``: ``"table"`` or ``"json"``."""
    if fmt == "json":
        return json.dumps([{
            "nr": s.nr, "name": s.name, "class": s.cls,
            "errno": _errname(s.errno) or None, "note": s.note,
            "conditional": bool(s.rules),
        } for s in TABLE], indent=1)
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}")
    width = max(len(s.name) for s in TABLE)
    lines = [f"{'NR':>3}  {'NAME':<{width}}  {'CLASS':<5}  {'ERRNO':<6}  NOTE"]
    for s in TABLE:
        cls = s.cls + ("*" if s.rules else "")
        lines.append(f"{s.nr:>3}  {s.name:<{width}}  {cls:<5}  "
                     f"{_errname(s.errno):<6}  {s.note}")
    lines.append("")
    lines.append("* depends on arguments (see the note); numbers not listed "
                 "fail with ENOSYS; any non-x86-64 ABI kills the process")
    return "\n".join(lines)
