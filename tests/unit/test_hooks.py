"""Hooks get the state on stdin, honour timeouts, report failures."""
import json

import pytest

from runtime import errors, hooks


def test_state_on_stdin_and_env(tmp_path):
    out = tmp_path / "out"
    h = {"path": "/bin/sh", "args": ["sh", "-c", f'cat > {out}; echo "$X" >> {out}'],
         "env": ["X=42"]}
    hooks.run_one(h, {"id": "c1", "status": "creating"}, "prestart")
    state_line, x = out.read_text().rsplit("}", 1)
    assert json.loads(state_line + "}")["id"] == "c1"
    assert x.strip() == "42"


def test_failure_and_timeout():
    with pytest.raises(errors.HookError, match="prestart hook /bin/sh: exit status 3: bad"):
        hooks.run_one({"path": "/bin/sh", "args": ["sh", "-c", "echo bad >&2; exit 3"]},
                      {}, "prestart")
    with pytest.raises(errors.HookError, match="timed out after 1s"):
        hooks.run_one({"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1},
                      {}, "poststart")
    with pytest.raises(errors.HookError, match="No such file"):
        hooks.run_one({"path": "/nonexistent/hook"}, {}, "prestart")


def test_warn_only_continues(caplog):
    ran = []
    hooks.run_all([{"path": "/bin/false"}, {"path": "/bin/true"}], {},
                  "poststop", warn_only=True)
    assert "poststop hook /bin/false: exit status 1" in caplog.text
