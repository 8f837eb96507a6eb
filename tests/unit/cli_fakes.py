"""A fake runtime ``Container`` and an in-process CLI invoker for unit tests.

``invoke(argv)`` runs ``cli.main.main`` in this process and returns
``(exit_code, stdout, stderr)``; ``fake_runtime`` (a fixture in the test
modules) swaps the runtime's Container for ``FakeContainer``.
"""
import os

from runtime import errors


class FakeContainer:
    """Records every call; containers live in the class-level ``store``."""

    store = {}
    calls = []
    spec_data = None
    wait_hook = None

    def __init__(self, cid, status="running", pid=42, bundle="/b/" + "x",
                 created="2026-11-29T22:00:00.000000000Z", owner="root",
                 annotations=None):
        self.id, self.status, self.pid, self.bundle = cid, status, pid, bundle
        self.created, self.owner = created, owner
        self.annotations = annotations or {}
        self.exit_status = 0
        self.procs = []

    @classmethod
    def reset(cls):
        cls.store, cls.calls = {}, []
        cls.spec_data = {"process": {"env": ["PATH=/bin", "A=1"],
                                     "cwd": "/work",
                                     "user": {"uid": 0, "gid": 0},
                                     "capabilities": {
                                         "bounding": ["CAP_KILL"],
                                         "effective": ["CAP_KILL"],
                                         "permitted": ["CAP_KILL"],
                                         "ambient": ["CAP_KILL"]}}}
        cls.wait_hook = None

    @classmethod
    def add(cls, cid, **kw):
        c = cls(cid, **kw)
        cls.store[cid] = c
        return c

    # Class-level operations
    @classmethod
    def load(cls, config, cid):
        cls.calls.append(("load", cid))
        if cid not in cls.store:
            raise errors.ContainerNotFoundError(cid)
        return cls.store[cid]

    @classmethod
    def list(cls, config):
        cls.calls.append(("list",))
        return [cls.store[k] for k in sorted(cls.store)]

    @classmethod
    def create(cls, config, cid, bundle, *, console_socket=None,
               pid_file=None):
        cls.calls.append(("create", cid, bundle, console_socket, pid_file))
        if cid in cls.store:
            raise errors.ContainerExistsError(cid)
        return cls.add(cid, status="created", bundle=bundle)

    @classmethod
    def run(cls, config, cid, bundle, *, console_socket=None, pid_file=None,
            detach=False):
        cls.calls.append(("run", cid, bundle, console_socket, pid_file,
                          detach))
        return 0

    # Instance operations
    @property
    def spec(self):
        return self.spec_data

    def start(self):
        self.calls.append(("start", self.id))
        if self.status != "created":
            raise errors.InvalidStateError("start", self.id, self.status)
        self.status = "running"

    def state(self):
        self.calls.append(("state", self.id))
        return {"ociVersion": "1.0.2", "id": self.id, "status": self.status,
                "pid": self.pid, "bundle": self.bundle, "rootfs": "/r",
                "created": self.created, "owner": self.owner}

    def signal(self, sig, all=False):
        self.calls.append(("signal", self.id, sig, all))

    def signal_process(self, pid, sig):
        self.calls.append(("signal_process", self.id, pid, sig))

    def wait(self):
        self.calls.append(("wait", self.id))
        if self.wait_hook:
            return self.wait_hook()
        return self.exit_status

    def wait_pid(self, pid):
        self.calls.append(("wait_pid", self.id, pid))
        if self.wait_hook:
            return self.wait_hook()
        return self.exit_status

    def execute(self, process, *, console_socket=None, detach=False,
                pid_file=None):
        self.calls.append(("execute", self.id, process, console_socket,
                           detach, pid_file))
        if pid_file:
            with open(pid_file, "w") as f:
                f.write("4242")
        return 0 if detach else self.exit_status

    def processes(self):
        self.calls.append(("processes", self.id))
        return self.procs

    def event(self):
        self.calls.append(("event", self.id))
        return {"type": "stats", "id": self.id, "data": {"pids": {"current":
                                                                  1}}}

    def pause(self):
        self.calls.append(("pause", self.id))

    def resume(self):
        self.calls.append(("resume", self.id))

    def destroy(self, force=False):
        self.calls.append(("destroy", self.id, force))
        self.store.pop(self.id, None)


def invoke(capsys, argv):
    """Run the CLI in-process; ``(exit_code, stdout, stderr)``."""
    from cli import main
    try:
        main.main(list(argv))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None
                                                       else 1)
    else:
        code = 0
    out, err = capsys.readouterr()
    return code, out, err


def write_bundle(path, terminal=False):
    os.makedirs(path, exist_ok=True)
    import json
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump({"process": {"terminal": terminal, "args": ["sh"]}}, f)
    return path
