"""``pyrunsc update``: change the cgroup limits of a running container."""
import json
import re
import sys

import click

from cli.commands import _util
from runtime.errors import SandboxError, UnsupportedError

_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30,
               "t": 1 << 40, "p": 1 << 50}


def parse_size(text):
    """Bytes as runc's flags take them (Docker's RAMInBytes): 64m, 1g, -1."""
    t = str(text).strip().lower()
    if t == "-1":
        return -1
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(?:i?b)?", t) \
        or re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*(b?)", t)
    if not m:
        raise click.BadParameter(f"invalid size: {text!r}")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])


# flag -> (section, key, parser)
_FLAGS = {
    "memory": ("memory", "limit", parse_size),
    "memory_reservation": ("memory", "reservation", parse_size),
    "memory_swap": ("memory", "swap", parse_size),
    "kernel_memory": ("memory", "kernel", parse_size),
    "kernel_memory_tcp": ("memory", "kernelTCP", parse_size),
    "cpu_share": ("cpu", "shares", int),
    "cpu_period": ("cpu", "period", int),
    "cpu_quota": ("cpu", "quota", int),
    "cpu_rt_period": ("cpu", "realtimePeriod", int),
    "cpu_rt_runtime": ("cpu", "realtimeRuntime", int),
    "cpu_idle": ("cpu", "idle", int),
    "cpuset_cpus": ("cpu", "cpus", str),
    "cpuset_mems": ("cpu", "mems", str),
    "pids_limit": ("pids", "limit", int),
    "blkio_weight": ("blockIO", "weight", int),
}


def _read_resources(path):
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path) as f:
                text = f.read()
        res = json.loads(text)
    except OSError as e:
        raise SandboxError(f"reading resources {path}: {e.strerror}") \
            from None
    except ValueError as e:
        raise SandboxError(f"reading resources {path}: malformed JSON: {e}") \
            from None
    if not isinstance(res, dict):
        raise SandboxError(f"reading resources {path}: not a JSON object")
    return res


@click.command("update", short_help="Update the resource limits of a "
               "container.")
@click.option("--resources", "-r", metavar="FILE",
              help="linux.resources JSON of the spec ('-': stdin); the "
                   "flags below override its fields.")
@click.option("--memory", metavar="BYTES", help="Memory limit (64m, 1g).")
@click.option("--memory-reservation", metavar="BYTES",
              help="Memory soft limit.")
@click.option("--memory-swap", metavar="BYTES",
              help="Memory plus swap limit (-1: unlimited).")
@click.option("--kernel-memory", metavar="BYTES", hidden=True)
@click.option("--kernel-memory-tcp", metavar="BYTES", hidden=True)
@click.option("--cpu-share", "--cpu-shares", "cpu_share", metavar="N",
              help="CPU shares (relative weight).")
@click.option("--cpu-period", metavar="US", help="CFS period.")
@click.option("--cpu-quota", metavar="US", help="CFS quota (-1: none).")
@click.option("--cpu-rt-period", metavar="US", help="Realtime period.")
@click.option("--cpu-rt-runtime", metavar="US", help="Realtime runtime.")
@click.option("--cpu-idle", metavar="0|1", hidden=True)
@click.option("--cpuset-cpus", metavar="LIST", help="CPUs (0-3, 0,1).")
@click.option("--cpuset-mems", metavar="LIST", help="Memory nodes.")
@click.option("--pids-limit", metavar="N", help="Maximum number of tasks.")
@click.option("--blkio-weight", metavar="N", help="Block IO weight.")
@click.option("--l3-cache-schema", hidden=True)
@click.option("--mem-bw-schema", hidden=True)
@click.argument("container_id")
@click.pass_obj
def command(config, resources, l3_cache_schema, mem_bw_schema, container_id,
            **flags):
    """Write new limits into CONTAINER_ID's cgroup, as runc update."""
    if l3_cache_schema or mem_bw_schema:
        raise UnsupportedError("intelRdt", "resctrl is not supported")
    res = _read_resources(resources) if resources else {}
    for name, (section, key, parse) in _FLAGS.items():
        value = flags.get(name)
        if value is None:
            continue
        try:
            parsed = parse(value)
        except ValueError:
            raise click.BadParameter(f"invalid value {value!r}",
                                     param_hint="--" + name.replace("_", "-"))
        res.setdefault(section, {})[key] = parsed
    _util.load(config, container_id).update(res)
