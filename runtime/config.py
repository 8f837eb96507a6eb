"""RuntimeConfig: the global flags of one pyrunsc invocation.

The CLI builds it from its global options; a boot forked by the CLI
inherits it.  A plain class rather than a dataclass: ``dataclasses`` (with
``inspect``) costs a CLI invocation more than everything else it imports.
"""
import os

DEFAULT_ROOT = "/run/pyrunsc"
PLATFORMS = ("seccomp", "ptrace", "none")
NETWORKS = ("none", "host", "sandbox")

# name -> default, in a stable order.
FIELDS = {
    "root": DEFAULT_ROOT,
    "debug": False,
    "debug_log": None,       # directory: one log file per process
    "log": None,             # file for this command's log/errors
    "log_format": "text",    # text | json
    "platform": "seccomp",
    "network": "sandbox",    # sandbox = as the spec says
    "systemd_cgroup": False,
    "rootless": False,
    "strace": False,
    "strace_syscalls": None,
    "directfs": False,
    "overlay": False,
    "dcache": None,          # gofer directory cache slots (None: default)
}


class RuntimeConfig:
    __slots__ = tuple(FIELDS)

    def __init__(self, **kw):
        unknown = set(kw) - set(FIELDS)
        if unknown:
            raise TypeError(f"unknown RuntimeConfig fields {sorted(unknown)}")
        for name, default in FIELDS.items():
            setattr(self, name, kw.get(name, default))
        self.root = os.path.abspath(self.root)

    def replace(self, **kw):
        """A copy with ``kw`` changed (dataclasses.replace)."""
        d = self.to_dict()
        d.update(kw)
        return RuntimeConfig(**d)

    def to_dict(self):
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_dict(cls, d):
        return cls(**{k: v for k, v in d.items() if k in FIELDS})

    def __eq__(self, other):
        return (isinstance(other, RuntimeConfig)
                and self.to_dict() == other.to_dict())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"RuntimeConfig({args})"
