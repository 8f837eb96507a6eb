"""Container metadata on disk: ``<root>/<id>/meta.json`` and the per-id lock.

Writes are atomic (temp file in the same directory, then rename).  Every
CLI operation on a container holds its lock (``flock`` on
``<root>/<id>/lock``) from load to save, so two CLI calls never interleave.
"""
import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile

from runtime import errors

_ID_RE = re.compile(r"^[\w+\-.]+$")
META = "meta.json"
LOCK = "lock"


def validate_id(cid):
    """Container ids follow runc and runsc: ``^[\\w+\\-.]+$``, not . or .."""
    if not isinstance(cid, str) or not _ID_RE.match(cid) or cid in (".", ".."):
        raise errors.InvalidIdError(f"invalid container id {cid!r}: "
                                    r"must match ^[\w+\-.]+$")
    if len(cid) > 1024:
        raise errors.InvalidIdError(f"invalid container id: longer than 1024")
    return cid


def container_dir(root, cid):
    return os.path.join(root, validate_id(cid))


def make_root(root):
    os.makedirs(root, mode=0o711, exist_ok=True)


def create_dir(root, cid):
    """Make ``<root>/<id>``; ContainerExistsError if it is there already."""
    make_root(root)
    d = container_dir(root, cid)
    try:
        os.mkdir(d, 0o711)
    except FileExistsError:
        raise errors.ContainerExistsError(cid) from None
    return d


def list_ids(root):
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names
                  if _ID_RE.match(n) and os.path.isdir(os.path.join(root, n))
                  and os.path.exists(os.path.join(root, n, META)))


@contextlib.contextmanager
def locked(root, cid, missing_ok=False):
    """Hold the container's lock; ContainerNotFoundError if it has no dir.

    A holder that deletes the container removes the lock file while holding
    it; a waiter then finds its inode unlinked and reports not found.
    """
    d = container_dir(root, cid)
    path = os.path.join(d, LOCK)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except (FileNotFoundError, NotADirectoryError):
            if missing_ok:
                yield None
                return
            raise errors.ContainerNotFoundError(cid) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                fd = -1
                if not os.path.isdir(d):
                    if missing_ok:
                        yield None
                        return
                    raise errors.ContainerNotFoundError(cid)
                continue
            yield fd
            return
        finally:
            if fd >= 0:
                os.close(fd)


def read(root, cid):
    path = os.path.join(container_dir(root, cid), META)
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise errors.ContainerNotFoundError(cid) from None
    except ValueError as e:
        raise errors.SandboxError(
            f"loading container state {path}: corrupt metadata: {e}") from None


def write(root, cid, data):
    """Atomically replace ``meta.json``."""
    write_json_atomic(os.path.join(container_dir(root, cid), META), data)


def write_json_atomic(path, data, mode=0o600):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            # No fsync: the rename is atomic for every reader, and the root
            # is a tmpfs (/run) that a power loss empties anyway.
            json.dump(data, f, indent=1, sort_keys=True)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def remove_dir(root, cid):
    """Remove ``<root>/<id>``; the lock file goes last so waiters notice."""
    d = container_dir(root, cid)
    for name in os.listdir(d) if os.path.isdir(d) else ():
        if name == LOCK:
            continue
        p = os.path.join(d, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(d, LOCK))
    try:
        os.rmdir(d)
    except OSError as e:
        if e.errno not in (errno.ENOENT,):
            raise
