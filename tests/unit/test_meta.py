"""Container metadata: ids, atomic writes, the per-container lock."""
import multiprocessing
import os
import time

import pytest

from runtime import errors, meta


@pytest.mark.parametrize("cid", ["a", "abc-123", "x.y_z+w", "A" * 64])
def test_valid_ids(cid):
    assert meta.validate_id(cid) == cid


@pytest.mark.parametrize("cid", ["", "a/b", "a b", "..", ".", "a\nb", "é/"])
def test_invalid_ids(cid):
    with pytest.raises(errors.InvalidIdError, match="invalid container id"):
        meta.validate_id(cid)


def test_create_twice_fails(tmp_path):
    meta.create_dir(str(tmp_path), "c1")
    with pytest.raises(errors.ContainerExistsError, match='"c1" already exists'):
        meta.create_dir(str(tmp_path), "c1")


def test_write_read_remove(tmp_path):
    root = str(tmp_path)
    meta.create_dir(root, "c1")
    meta.write(root, "c1", {"id": "c1", "status": "created"})
    assert meta.read(root, "c1")["status"] == "created"
    assert meta.list_ids(root) == ["c1"]
    assert not [n for n in os.listdir(tmp_path / "c1") if n.startswith(".tmp")]
    with meta.locked(root, "c1"):
        meta.remove_dir(root, "c1")
    assert os.listdir(root) == []
    with pytest.raises(errors.ContainerNotFoundError):
        meta.read(root, "c1")


def _hold_lock(root, ready, seconds):
    with meta.locked(root, "c1"):
        ready.set()
        time.sleep(seconds)
        meta.write(root, "c1", {"holder": "child"})


def test_lock_excludes_concurrent_callers(tmp_path):
    root = str(tmp_path)
    meta.create_dir(root, "c1")
    ready = multiprocessing.Event()
    p = multiprocessing.Process(target=_hold_lock, args=(root, ready, 0.5))
    p.start()
    try:
        assert ready.wait(10)
        with meta.locked(root, "c1"):
            # The holder wrote before releasing: we ran after it.
            assert meta.read(root, "c1") == {"holder": "child"}
    finally:
        p.join(10)


def _delete_under_lock(root, ready):
    with meta.locked(root, "c1"):
        ready.set()
        time.sleep(0.3)
        meta.remove_dir(root, "c1")


def test_waiter_sees_deleted_container(tmp_path):
    root = str(tmp_path)
    meta.create_dir(root, "c1")
    meta.write(root, "c1", {})
    ready = multiprocessing.Event()
    p = multiprocessing.Process(target=_delete_under_lock, args=(root, ready))
    p.start()
    try:
        assert ready.wait(10)
        with pytest.raises(errors.ContainerNotFoundError):
            with meta.locked(root, "c1"):
                pass
    finally:
        p.join(10)
    assert not os.path.exists(tmp_path / "c1")
