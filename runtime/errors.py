"""The one hierarchy of errors that the runtime raises to its callers.

The CLI catches ``SandboxError`` in one place and prints ``error: <message>``
with exit status 1.  Messages are lower case, without a trailing period,
context first ("loading container state /run/x: ...").
"""


class SandboxError(Exception):
    """Base of every error the runtime reports to a user."""


class InvalidSpecError(SandboxError):
    """The OCI spec is malformed or asks for something unsupported.

    ``field_path`` names the offending field, e.g. ``process.args[0]``.
    """

    def __init__(self, field_path, message):
        self.field_path = field_path
        super().__init__(f"{field_path}: {message}" if field_path else message)


class UnsupportedError(InvalidSpecError):
    """A spec field or flag that pyrunsc does not implement."""

    def __init__(self, field_path, detail="is not supported"):
        self.field_path = field_path
        sep = " " if detail.startswith("is ") else ": "
        SandboxError.__init__(self, f"{field_path}{sep}{detail}")


class InvalidIdError(SandboxError):
    """A container id that does not match ``^[\\w+\\-.]+$``."""


class ContainerNotFoundError(SandboxError):
    """No container with this id under the root."""

    def __init__(self, cid):
        self.cid = cid
        super().__init__(f'container "{cid}" does not exist')


class ContainerExistsError(SandboxError):
    def __init__(self, cid):
        self.cid = cid
        super().__init__(f'container "{cid}" already exists')


class InvalidStateError(SandboxError):
    """An operation that the container's status does not allow."""

    def __init__(self, action, cid, status):
        self.action, self.cid, self.status = action, cid, status
        super().__init__(f'cannot {action} container "{cid}" in state {status}')


class ControlError(SandboxError):
    """The control RPC to a sandbox failed (sandbox gone, bad reply)."""


class GoferError(SandboxError):
    """The gofer failed or broke the protocol."""


class ProcessError(SandboxError):
    """Creating or executing a container process failed.

    ``stage`` names the setup step ("mount /proc", "exec"), ``errno`` is the
    host errno when there is one.
    """

    def __init__(self, message, stage=None, errno=None):
        self.stage, self.errno = stage, errno
        super().__init__(message)


class HookError(SandboxError):
    """A lifecycle hook failed or timed out."""
