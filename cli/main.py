"""The pyrunsc command line: global flags, the one command registry, errors.

Every command lives in ``cli/commands/<verb>.py`` and exposes ``command``
(a click command).  ``COMMANDS`` below is the only list of them, grouped as
runsc groups its help.  ``main`` is the one place that turns a
``SandboxError`` into ``error: <msg>`` on stderr (plus a log record, JSON
for containerd with ``--log-format json``) and exit status 1; click usage
errors exit 2; tracebacks only with ``--debug``.  A command's return value,
when an int, is the exit status (``run``, ``exec``, ``do``).
"""
import importlib
import logging
import os
import sys
import traceback

import click

from cli import logsetup
from runtime import config as rconfig
from runtime.errors import SandboxError

logger = logging.getLogger("pyrunsc")

VERSION = "0.1.0"
SPEC_VERSION = "1.0.2"

# The registry: (section of the help, command names).  Internal commands
# are hidden from --help.
COMMANDS = (
    ("OCI lifecycle", ("create", "start", "state", "kill", "delete")),
    ("runc and runsc", ("spec", "run", "list", "ps", "exec", "events",
                        "pause", "resume", "update", "wait")),
    ("extras", ("do", "syscalls")),
    ("internal", ("boot", "gofer")),
)
INTERNAL = {"boot", "gofer"}
_state = {"debug": False}

# Global flags that take a value (for the argv normalisation below).
_VALUE_FLAGS = {"--root", "--debug-log", "--log", "--log-format",
                "--platform", "--network", "--strace-syscalls", "--criu",
                "--log-level", "--rootless", "--dcache"}
_BOOL_FLAGS = {"--debug", "--systemd-cgroup", "--strace", "--directfs",
               "--overlay", "--alsologtostderr"}
_TRUE = {"true", "1", "yes", "t"}
_FALSE = {"false", "0", "no", "f"}


def _command_names():
    return [n for _, names in COMMANDS for n in names]


def normalize_argv(argv):
    """Accept the spellings engines use for global flags.

    runc takes ``--rootless VALUE`` (true|false|auto) while runsc takes a
    bare ``--rootless``; Go's flag package also allows ``-root`` and
    ``--debug=true``.  Only the part before the command name is rewritten.
    """
    names = set(_command_names())
    out = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok in names or tok == "--":
            out.extend(argv[i:])
            break
        if tok.startswith("-") and not tok.startswith("--") and len(tok) > 2:
            if "--" + tok[1:].split("=", 1)[0] in _VALUE_FLAGS | _BOOL_FLAGS:
                tok = "-" + tok
        name, eq, value = tok.partition("=")
        if name == "--rootless":
            if eq:
                out.append(tok)
            elif (i + 1 < len(argv)
                  and argv[i + 1].lower() in _TRUE | _FALSE | {"auto"}):
                out.append(f"--rootless={argv[i + 1]}")
                i += 1
            else:
                out.append("--rootless=true")
        elif name in _BOOL_FLAGS and eq:
            if value.lower() in _TRUE:
                out.append(name)
            elif value.lower() not in _FALSE:
                out.append(tok)         # let click report it
        elif name in _VALUE_FLAGS and not eq and i + 1 < len(argv):
            out += [tok, argv[i + 1]]
            i += 1
        else:
            out.append(tok)
        i += 1
    return out


class Registry(click.Group):
    """Commands loaded from cli/commands/<verb>.py, listed by section."""

    def list_commands(self, ctx):
        return _command_names()

    def get_command(self, ctx, name):
        if name not in _command_names():
            return None
        mod = importlib.import_module(f"cli.commands.{name}")
        cmd = mod.command
        if name in INTERNAL:
            cmd.hidden = True
        return cmd

    def format_commands(self, ctx, formatter):
        for section, names in COMMANDS:
            if set(names) <= INTERNAL:
                continue
            rows = []
            for n in names:
                cmd = self.get_command(ctx, n)
                rows.append((n, cmd.get_short_help_str(limit=60)))
            with formatter.section(f"Commands ({section})"):
                formatter.write_dl(rows)


def _version(ctx, _param, value):
    if value and not ctx.resilient_parsing:
        click.echo(f"pyrunsc version {VERSION}\nspec: {SPEC_VERSION}")
        ctx.exit(0)


@click.group(cls=Registry, context_settings={"help_option_names":
                                             ["-h", "--help"]})
@click.option("--root", default=rconfig.DEFAULT_ROOT, show_default=True,
              metavar="DIR", help="Directory of container state (tmpfs).")
@click.option("--debug", is_flag=True,
              help="Debug logging on stderr; tracebacks on errors.")
@click.option("--debug-log", metavar="DIR",
              help="Directory for debug logs, one file per process "
                   "(cli, boot, gofer).")
@click.option("--log", metavar="FILE",
              help="Log file of this command (runc's flag; default: none, "
                   "errors go to stderr).")
@click.option("--log-format", type=click.Choice(["text", "json"]),
              default="text", show_default=True,
              help="Format of --log; containerd reads json error lines.")
@click.option("--log-level", type=click.Choice(
    ["debug", "info", "warn", "warning", "error"]), default=None,
    help="Level of --log (default info, debug with --debug).")
@click.option("--platform", type=click.Choice(rconfig.PLATFORMS),
              default="seccomp", show_default=True,
              help="How the sentry intercepts syscalls.")
@click.option("--network", type=click.Choice(rconfig.NETWORKS),
              default="sandbox", show_default=True,
              help="none: only loopback; host: the host's network; "
                   "sandbox: as the spec's namespaces say.")
@click.option("--systemd-cgroup", is_flag=True,
              help="Accepted for engines: linux.cgroupsPath is then "
                   "'slice:prefix:name' (as runc) and pyrunsc maps it to "
                   "the cgroupfs path <slice>/<prefix>-<name>.scope itself; "
                   "systemd is not contacted.")
@click.option("--rootless", default="false", metavar="true|false|auto",
              help="Rootless mode: not supported yet (false and auto as "
                   "root are accepted).")
@click.option("--strace", is_flag=True,
              help="Log the app's syscalls in strace format (debug log).")
@click.option("--strace-syscalls", metavar="LIST",
              help="Comma-separated syscalls for --strace (default all).")
@click.option("--directfs", is_flag=True,
              help="Let the sentry open files from a root fd the gofer "
                   "donates.")
@click.option("--overlay", is_flag=True,
              help="Writable overlay over the rootfs in memory.")
@click.option("--dcache", type=click.IntRange(min=0), default=None,
              metavar="N",
              help="Slots of the sentry's cache of gofer directories "
                   "(default 512; 0: none).")
@click.option("--criu", metavar="PATH", hidden=True,
              help="Accepted for runc compatibility; unused.")
@click.option("--alsologtostderr", is_flag=True, hidden=True,
              help="Accepted for runsc compatibility; same as --debug "
                   "without tracebacks.")
@click.option("-v", "--version", is_flag=True, expose_value=False,
              is_eager=True, callback=_version,
              help="Print the version and exit.")
@click.pass_context
def cli(ctx, root, debug, debug_log, log, log_format, log_level, platform,
        network, systemd_cgroup, rootless, strace, strace_syscalls,
        directfs, overlay, dcache, criu, alsologtostderr):
    """pyrunsc: a sandboxing OCI runtime in the spirit of gVisor's runsc."""
    r = rootless.lower()
    if r not in _TRUE | _FALSE | {"auto"}:
        raise click.BadParameter(f"{rootless!r}: must be true, false or "
                                 "auto", param_hint="'--rootless'")
    if r in _TRUE or (r == "auto" and os.geteuid() != 0):
        raise SandboxError("rootless mode is not supported yet")
    config = rconfig.RuntimeConfig(
        root=root, debug=debug, debug_log=debug_log, log=log,
        log_format=log_format, platform=platform, network=network,
        systemd_cgroup=systemd_cgroup, rootless=False, strace=strace,
        strace_syscalls=strace_syscalls, directfs=directfs, overlay=overlay,
        dcache=dcache)
    ctx.obj = config
    _state["debug"] = debug
    ctx.meta["pyrunsc.config"] = config
    sub = ctx.invoked_subcommand
    logsetup.setup(config, command=sub,
                   process=sub if sub in INTERNAL else "cli",
                   log_level=log_level)
    logger.debug("pyrunsc %s: argv %s", sub, sys.argv)
    # A boot forked by this command logs as "boot", not into --log; its
    # gofer as "gofer", into --log as well (as an exec'd `gofer` would).
    from runtime import sandbox
    sandbox.boot_logging = lambda cfg, process="boot": logsetup.setup(
        cfg.replace(log=None) if process == "boot" else cfg, command=sub,
        process=process, log_level=log_level)


def _report(exc, debug):
    msg = str(exc) or type(exc).__name__
    logger.error(msg, extra={logsetup.REPORTED: True})
    logger.debug("traceback of the error above", exc_info=True,
                 extra={logsetup.REPORTED: True})
    if debug:
        traceback.print_exc()
    try:
        click.echo(f"error: {msg}", err=True)
    except OSError:
        pass


def _silence_stdout():
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv=None):
    """Entry point of the ``pyrunsc`` console script; exits the process."""
    args = normalize_argv(list(sys.argv[1:] if argv is None else argv))
    # Until logsetup runs, records go nowhere (not to logging's lastResort).
    if not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())
    _state["debug"] = False
    try:
        rv = cli.main(args=args, prog_name="pyrunsc", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.ClickException as e:
        e.show()
        code = e.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        code = 1
    except SandboxError as e:
        _report(e, _state["debug"])
        code = 1
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # The reader went away (`pyrunsc list | head`): no traceback, and
        # no second EPIPE when the interpreter flushes stdout at exit.
        _silence_stdout()
        code = 1
    except Exception as e:  # a bug: say so, with the traceback on --debug
        _report(RuntimeError(f"internal error: {type(e).__name__}: {e}"),
                _state["debug"])
        code = 1
    try:
        sys.stdout.flush()
    except OSError:
        _silence_stdout()
    logging.shutdown()
    sys.exit(code)


if __name__ == "__main__":
    main()
