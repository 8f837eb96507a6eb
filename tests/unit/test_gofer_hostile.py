"""A hostile client: malformed, truncated, oversized frames close that
connection and nothing else; fuzzed request streams never make the server
crash, hang or touch anything outside its root."""
import array
import os
import socket
import stat
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gofer_fixtures import SERVERS, ServerFactory
from sentry.gofer import client as gc
from sentry.gofer import proto as P


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_bytes(b"hello")
    os.symlink("../../outside", root / "d" / "esc")
    os.symlink(str(tmp_path / "outside"), root / "host")
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret").write_bytes(b"SECRET")
    return root


@pytest.fixture(params=SERVERS)
def factory(tree, request):
    f = ServerFactory(str(tree), accel=request.param)
    try:
        yield f
    finally:
        f.close()


def outside_state(tree):
    out = tree.parent / "outside"
    return sorted(os.listdir(tree.parent)), sorted(os.listdir(out)), \
        (out / "secret").read_bytes(), os.stat(out).st_mtime_ns


def versioned(factory, msize=P.DEFAULT_MSIZE):
    s = factory.connect()
    s.settimeout(10)
    s.sendall(P.encode(P.Tversion(msize, P.VERSION), 1))
    msg, _ = P.decode(s.recv(P.MAX_MSIZE))
    assert type(msg) is P.Rversion
    return s


def closed(s):
    """True when the server closed ``s`` (EOF after any pending reply)."""
    s.settimeout(10)
    while True:
        try:
            data, anc, _, _ = s.recvmsg(P.MAX_MSIZE, socket.CMSG_SPACE(64))
        except ConnectionResetError:    # closed with our frames unread
            return True
        for _, _, fds in anc:
            for fd in array.array("i", fds[:len(fds) - len(fds) % 4]):
                os.close(fd)
        if not data:
            return True


def still_serves(factory):
    """A new connection is served (the fuzzer may have renamed anything in
    the tree, so only the root is sure to be there)."""
    c = factory.client()
    try:
        return stat.S_ISDIR(gc.GoferFs(c).stat("/").mode)
    finally:
        c.close()


def hdr(size, mid, tag=1):
    return struct.pack("<IBH", size, mid, tag)


HOSTILE = {
    "garbage before version": (False, b"GET / HTTP/1.1\r\n\r\n"),
    "request before version": (False, P.encode(P.Tattach(1), 1)),
    "short header": (True, b"\x01\x02"),
    "size larger than record": (True, hdr(100, P.Tclunk.ID) + b"\0" * 4),
    "size smaller than record": (True, hdr(7, P.Tclunk.ID) + b"\0" * 4),
    "unknown type": (True, hdr(7, 200)),
    "a reply as request": (True, P.encode(P.Rok(), 1)),
    "second version": (True, P.encode(P.Tversion(8192, P.VERSION), 1)),
    "count past the end": (True, hdr(17, P.Twalk.ID) +
                           struct.pack("<IIH", 0, 1, 0xFFFF)),
    "trailing bytes": (True, hdr(13, P.Tclunk.ID) + b"\0" * 6),
    "empty record": (True, b""),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_frame_closes_only_its_connection(factory, tree, case):
    after_version, frame = HOSTILE[case]
    bystander = factory.client()
    before = outside_state(tree)
    s = versioned(factory) if after_version else factory.connect()
    s.send(frame)
    assert closed(s)
    assert factory.alive()
    assert gc.GoferFs(bystander).stat("/d/f").size == 5
    assert still_serves(factory)
    assert outside_state(tree) == before
    assert factory.bugs() == []
    bystander.close()


def test_frame_over_msize_closes(factory):
    s = versioned(factory, msize=P.MIN_MSIZE)
    s.send(P.encode(P.Twalk(0, 1, [b"n" * 200] * 50), 1))  # > msize
    assert closed(s)
    assert still_serves(factory)


def test_record_larger_than_any_frame_closes(factory):
    s = versioned(factory)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    try:
        s.send(hdr(P.MAX_MSIZE + 100, P.Tclunk.ID) +
               b"\0" * (P.MAX_MSIZE + 93))
    except OSError:
        pytest.fail("the kernel refused a record this size; pick a smaller")
    assert closed(s)
    assert still_serves(factory)


def test_fds_sent_with_a_request_close_the_connection(factory):
    s = versioned(factory)
    r, w = os.pipe()
    try:
        socket.send_fds(s, [P.encode(P.Tattach(1), 2)], [r])
        assert closed(s)
    finally:
        os.close(r)
        os.close(w)
    assert still_serves(factory)


def test_a_connection_that_hangs_up_mid_request_is_forgotten(factory):
    c = factory.client()
    fid = c.alloc()
    c.walk(c.root, [b"d"], fid)
    c.sock.send(P.encode(P.Tgetattr(fid), 9))
    c.sock.close()
    assert still_serves(factory)
    assert factory.alive()


# -- fuzzing -------------------------------------------------------------

fid = st.integers(0, 6) | st.just(P.NOFID)
hostile_name = st.sampled_from([b"d", b"f", b"esc", b"host", b"..", b".",
                                b"/", b"", b"outside", b"secret", b"x",
                                b"a/b", b"\0", b"n" * 300]) | \
    st.binary(max_size=12)
names = st.lists(hostile_name, max_size=6)
u32 = st.integers(0, 0xFFFFFFFF)
small = st.integers(0, 0o7777) | u32

REQUESTS = st.one_of(
    st.builds(P.Tattach, fid),
    st.builds(P.Twalk, fid, fid, names),
    st.builds(P.Topen, fid, u32),
    st.builds(P.Tcreate, fid, fid, hostile_name, u32, small, small, small),
    st.builds(P.Tmkdir, fid, hostile_name, small, small, small),
    st.builds(P.Tmknod, fid, hostile_name, small | st.just(0o20644),
              st.integers(0, 1 << 20), small, small),
    st.builds(P.Tsymlink, fid, hostile_name, st.binary(max_size=30) |
              st.just(b"/../../outside/secret"), small, small),
    st.builds(P.Tlink, fid, hostile_name, fid),
    st.builds(P.Tunlink, fid, hostile_name, st.sampled_from([0, 0x200]) | u32),
    st.builds(P.Trename, fid, hostile_name, fid, hostile_name,
              st.integers(0, 7)),
    st.builds(P.Treadlink, fid),
    st.builds(P.Tgetattr, fid),
    st.builds(P.Tsetattr, fid, st.integers(0, 63), small, small, small,
              st.integers(0, 1 << 20), st.integers(-10, 10), u32,
              st.integers(-10, 10), u32),
    st.builds(P.Treaddir, fid, st.integers(0, (1 << 64) - 1), u32),
    st.builds(P.Tstatfs, fid),
    st.builds(P.Tfsync, fid, st.integers(0, 1)),
    st.builds(P.Tflush, st.integers(0, 0xFFFF)),
    st.builds(P.Tclunk, fid),
    st.builds(P.Tgetxattr, fid, hostile_name | st.just(b"user.x"), u32),
    st.builds(P.Tsetxattr, fid, hostile_name | st.just(b"user.x"),
              st.binary(max_size=20), st.integers(0, 3)),
    st.builds(P.Tlistxattr, fid, u32),
    st.builds(P.Tremovexattr, fid, hostile_name),
    st.builds(P.Tconnect, fid, st.integers(0, 6)),
    st.builds(P.Tbind, fid, fid, hostile_name, st.integers(0, 6), small,
              small),
)
FRAMES = st.lists(REQUESTS.map(lambda m: P.encode(m, 3)) |
                  st.binary(max_size=40), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(frames=FRAMES)
def test_fuzz_server_with_hostile_request_streams(factory, tree, frames):
    before = outside_state(tree)
    s = versioned(factory)
    s.send(P.encode(P.Tattach(0), 2))
    for f in frames:
        try:
            s.send(f)
        except OSError:
            break                # the server closed on a malformed frame
    s.shutdown(socket.SHUT_WR)
    assert closed(s)
    s.close()
    assert factory.alive()
    assert outside_state(tree) == before
    assert still_serves(factory)
    assert factory.bugs() == []
