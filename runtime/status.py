"""Container status: names, transition predicates, the one transition function.

Quoting runtime-spec runtime.md "State": status is one of creating, created,
running, stopped.  ``paused`` is the runc/runsc extension for the freezer.
"""
from runtime import errors

CREATING = "creating"
CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"

_EDGES = {
    CREATING: {CREATED, STOPPED},
    CREATED: {RUNNING, STOPPED},
    RUNNING: {PAUSED, STOPPED},
    PAUSED: {RUNNING, STOPPED},
    STOPPED: {STOPPED},
}


def change_status(container, new):
    """Move ``container`` to ``new``; an illegal edge is a bug, not user error."""
    old = container.status
    if new not in _EDGES.get(old, ()):
        raise AssertionError(f"illegal status change {old} -> {new} "
                             f"for container {container.id}")
    container.status = new


def require_status(action, container, *allowed):
    """Raise InvalidStateError unless the container is in one of ``allowed``."""
    if container.status not in allowed:
        raise errors.InvalidStateError(action, container.id, container.status)


def can_start(status):
    return status == CREATED


def can_kill(status):
    return status in (CREATED, RUNNING, PAUSED)


def can_delete(status):
    """"Attempting to delete a container that is not stopped MUST have no
    effect on the container and MUST generate an error" - runtime.md.

    N.B. runc and runsc also delete a created container; we follow the spec
    (runtime-tools' delete validation checks it).
    """
    return status == STOPPED


def can_pause(status):
    return status == RUNNING


def can_resume(status):
    return status == PAUSED


def can_exec(status):
    return status in (CREATED, RUNNING)
