"""The ``/sys`` files the sentry answers itself.

The container's ``/sys`` is a sysfs mount of its own network namespace
(read-only), served by the kernel; only the CPU lists describe the host
rather than the container: ``/sys/devices/system/cpu/{online,possible,
present}`` list the container's virtual CPUs (sentry.fs.procfs.cpus), which
is what glibc's ``sysconf(_SC_NPROCESSORS_ONLN)`` (Python's
``os.cpu_count()``) reads.
"""
from sentry.fs import procfs

_CPU_LISTS = ("devices/system/cpu/online", "devices/system/cpu/possible",
              "devices/system/cpu/present")


def content(ctx, relpath):
    """The bytes of ``/sys/<relpath>``, or None (the kernel's file)."""
    if relpath in _CPU_LISTS and procfs.cpu_quota(ctx) is not None:
        return procfs.format_cpus(procfs.cpus(ctx))
    return None
