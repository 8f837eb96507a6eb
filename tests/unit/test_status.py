import pytest

from runtime import errors, status as st


class C:
    id = "c1"

    def __init__(self, s):
        self.status = s


@pytest.mark.parametrize("old, new", [
    (st.CREATING, st.CREATED), (st.CREATED, st.RUNNING),
    (st.RUNNING, st.PAUSED), (st.PAUSED, st.RUNNING),
    (st.RUNNING, st.STOPPED), (st.CREATED, st.STOPPED)])
def test_legal_edges(old, new):
    c = C(old)
    st.change_status(c, new)
    assert c.status == new


@pytest.mark.parametrize("old, new", [
    (st.STOPPED, st.RUNNING), (st.CREATED, st.PAUSED),
    (st.RUNNING, st.CREATED), (st.PAUSED, st.CREATED)])
def test_illegal_edges_are_bugs(old, new):
    with pytest.raises(AssertionError):
        st.change_status(C(old), new)


def test_require_status_message():
    with pytest.raises(errors.InvalidStateError,
                       match='cannot start container "c1" in state stopped'):
        st.require_status("start", C(st.STOPPED), st.CREATED)


def test_predicates():
    assert st.can_start(st.CREATED) and not st.can_start(st.RUNNING)
    assert st.can_delete(st.STOPPED) and not st.can_delete(st.RUNNING)
    assert not st.can_delete(st.CREATED)
    assert st.can_pause(st.RUNNING) and st.can_resume(st.PAUSED)
    assert st.can_kill(st.CREATED) and not st.can_kill(st.STOPPED)
