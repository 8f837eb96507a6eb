"""RuntimeConfig: the global flags of one pyrunsc invocation.

The CLI builds it from its global options; boot receives it serialized
(``to_args``) so that the sandbox runs with the same settings.
"""
import dataclasses
import os

DEFAULT_ROOT = "/run/pyrunsc"
PLATFORMS = ("seccomp", "ptrace", "none")
NETWORKS = ("none", "host", "sandbox")


@dataclasses.dataclass
class RuntimeConfig:
    root: str = DEFAULT_ROOT
    debug: bool = False
    debug_log: str | None = None       # directory: one log file per process
    log: str | None = None             # file for this command's log/errors
    log_format: str = "text"           # text | json
    platform: str = "seccomp"
    network: str = "sandbox"           # sandbox = as the spec says
    systemd_cgroup: bool = False
    rootless: bool = False
    strace: bool = False
    strace_syscalls: str | None = None
    directfs: bool = False
    overlay: bool = False

    def __post_init__(self):
        self.root = os.path.abspath(self.root)

    # Flags that boot and gofer must see as the CLI saw them.
    _FORWARDED = ("debug", "debug_log", "log_format", "platform", "network",
                  "systemd_cgroup", "rootless", "strace", "strace_syscalls",
                  "directfs", "overlay")

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
