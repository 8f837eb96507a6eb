"""Logging of one pyrunsc process: the CLI itself, boot or gofer.

Three sinks, all optional:

* ``--log FILE`` (runc's flag): this command's log, in ``text`` or ``json``
  (``--log-format``).  containerd reads errors from it as JSON lines
  ``{"level":"error","msg":"...","time":"..."}``.  Level info, debug with
  ``--debug`` or ``--log-level``.
* ``--debug-log DIR``: one file per process, named
  ``pyrunsc.<command>.<process>.<timestamp>.<pid>.log`` where process is
  ``cli``, ``boot`` or ``gofer``; always at debug level.
* stderr, at debug level, only with ``--debug`` (the ``error: ...`` line
  the CLI prints on failure is separate and always there).
"""
import datetime
import json
import logging
import os
import sys

from runtime.errors import SandboxError

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO,
           "warn": logging.WARNING, "warning": logging.WARNING,
           "error": logging.ERROR}
# Records the CLI already printed as "error: ..." on stderr.
REPORTED = "pyrunsc_reported"


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(ts=None):
    t = (datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
         if ts is not None else _now())
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JSONFormatter(logging.Formatter):
    """One JSON object per line, as logrus writes them for runc."""

    def format(self, record):
        level = record.levelname.lower()
        obj = {"level": "warning" if level == "warn" else level,
               "msg": record.getMessage(),
               "time": rfc3339(record.created)}
        if record.exc_info and record.levelno <= logging.DEBUG:
            obj["exc"] = self.formatException(record.exc_info)
        return json.dumps(obj, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def __init__(self, process):
        super().__init__()
        self.process = process

    def format(self, record):
        line = (f'time="{rfc3339(record.created)}" '
                f'level={record.levelname.lower()} '
                f'{self.process}[{record.process}] {record.name}: '
                f'msg={json.dumps(record.getMessage())}')
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _NotReported(logging.Filter):
    def filter(self, record):
        return not getattr(record, REPORTED, False)


def debug_log_path(directory, command, process):
    stamp = _now().strftime("%Y%m%d-%H%M%S.%f")
    return os.path.join(directory, f"pyrunsc.{command or 'none'}.{process}."
                                   f"{stamp}.{os.getpid()}.log")


def setup(config, *, command=None, process="cli", log_level=None):
    """Install this process's handlers on the root logger; idempotent."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_pyrunsc", False):
            root.removeHandler(h)
            h.close()
    handlers = []
    if config.log:
        level = _LEVELS.get(log_level or "",
                            logging.DEBUG if config.debug else logging.INFO)
        try:
            h = logging.FileHandler(config.log, encoding="utf-8")
        except OSError as e:
            raise SandboxError(f"opening log file {config.log}: "
                               f"{e.strerror}") from None
        h.setLevel(level)
        h.setFormatter(JSONFormatter() if config.log_format == "json"
                       else TextFormatter(process))
        handlers.append(h)
    if config.debug_log:
        path = debug_log_path(config.debug_log, command, process)
        try:
            os.makedirs(config.debug_log, mode=0o755, exist_ok=True)
            h = logging.FileHandler(path, encoding="utf-8")
        except OSError as e:
            raise SandboxError(f"opening debug log {path}: "
                               f"{e.strerror}") from None
        h.setLevel(logging.DEBUG)
        h.setFormatter(TextFormatter(process))
        handlers.append(h)
    if config.debug:
        h = logging.StreamHandler(sys.stderr)
        h.setLevel(logging.DEBUG)
        h.setFormatter(TextFormatter(process))
        h.addFilter(_NotReported())
        handlers.append(h)
    for h in handlers:
        h._pyrunsc = True
        root.addHandler(h)
    root.setLevel(min((h.level for h in handlers), default=logging.WARNING))
    return handlers
