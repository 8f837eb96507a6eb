"""The gofer protocol module: encoding round trips and a decoder that only
ever returns a message or raises ProtocolError (fuzzed with hypothesis)."""
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentry.gofer import proto as P

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, (1 << 64) - 1)
i64 = st.integers(-(1 << 63), (1 << 63) - 1)
name = st.binary(max_size=40)
attr = st.builds(P.Attr, u32, u64, u32, u32, u64, u64, u32, u64, i64, u32,
                 i64, u32, i64, u32, u64, u64)
statfs = st.builds(P.Statfs, *([u64] * 10))
dirent = st.builds(P.Dirent, u64, u64, u8, name)

KIND = {
    "B": u8, "H": u16, "I": u32, "Q": u64, "q": i64, "s": name,
    "S": st.lists(name, max_size=8), "b": st.binary(max_size=200),
    "A": attr, "As": st.lists(attr, max_size=4), "F": statfs,
    "D": st.lists(dirent, max_size=6),
}


def message(mid, _name, fields):
    cls = P.TYPES[mid]
    return st.builds(cls, *[KIND[k] for _, k in fields])


any_message = st.one_of([message(*m) for m in P.MESSAGES])


def test_ids_are_unique_and_dense_tables():
    ids = [m[0] for m in P.MESSAGES]
    assert len(ids) == len(set(ids))
    assert set(P.TYPES) == set(ids)
    for mid in P.FD_REPLIES:
        assert P.TYPES[mid].__name__.startswith("R")


@FUZZ
@given(any_message, u16)
def test_every_message_round_trips(msg, tag):
    frame = P.encode(msg, tag)
    assert struct.unpack_from("<I", frame)[0] == len(frame)
    out, t = P.decode(frame)
    assert t == tag
    assert type(out) is type(msg)
    assert out == msg


def test_decode_rejects_a_short_header():
    with pytest.raises(P.ProtocolError, match="short"):
        P.decode(b"\x07\x00\x00")


def test_decode_rejects_a_size_that_is_not_the_record():
    frame = P.encode(P.Tclunk(3), 1)
    with pytest.raises(P.ProtocolError, match="does not match"):
        P.decode(frame + b"\0")
    with pytest.raises(P.ProtocolError, match="does not match"):
        P.decode(frame[:-1])


def test_decode_rejects_truncated_fields_even_with_a_consistent_size():
    frame = P.encode(P.Tclunk(3), 1)
    cut = struct.pack("<IBH", len(frame) - 1, P.Tclunk.ID, 1) + frame[7:-1]
    with pytest.raises(P.ProtocolError, match="past the end"):
        P.decode(cut)


def test_decode_rejects_trailing_bytes():
    body = P.encode(P.Tclunk(3), 1)[7:] + b"xx"
    frame = struct.pack("<IBH", 7 + len(body), P.Tclunk.ID, 1) + body
    with pytest.raises(P.ProtocolError, match="trailing"):
        P.decode(frame)


def test_decode_rejects_unknown_types_and_frames_over_msize():
    with pytest.raises(P.ProtocolError, match="unknown message type"):
        P.decode(struct.pack("<IBH", 7, 250, 0))
    frame = P.encode(P.Twalk(1, 2, [b"a" * 200] * 30), 1)
    with pytest.raises(P.ProtocolError, match="exceeds msize"):
        P.decode(frame, msize=4096)


def test_decode_checks_a_count_before_trusting_it():
    # a walk claiming 65535 names in a 15-byte frame
    frame = struct.pack("<IBHIIH", 17, P.Twalk.ID, 1, 0, 1, 0xFFFF)
    with pytest.raises(P.ProtocolError, match="past the end"):
        P.decode(frame)
    frame = struct.pack("<IBHIH", 13, P.Rwalk.ID, 1, 0, 0xFFFF)
    with pytest.raises(P.ProtocolError):
        P.decode(frame)


def test_valid_name():
    for good in (b"a", b"..a", b"a b", b"x" * 255):
        assert P.valid_name(good)
    for bad in (b"", b".", b"..", b"a/b", b"/", b"a\0", b"x" * 256):
        assert not P.valid_name(bad)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_decoder_random_bytes(data):
    try:
        msg, tag = P.decode(data)
    except P.ProtocolError:
        return
    # whatever decodes must encode back to the same bytes
    assert P.encode(msg, tag) == data


@FUZZ
@given(any_message, st.data())
def test_fuzz_decoder_mutated_frames(msg, data):
    frame = bytearray(P.encode(msg, 7))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(frame) - 1))
        frame[i] = data.draw(u8)
    cut = data.draw(st.integers(0, len(frame)))
    frame = bytes(frame[:cut]) if data.draw(st.booleans()) else bytes(frame)
    try:
        out, tag = P.decode(frame)
    except P.ProtocolError:
        return
    assert P.encode(out, tag) == frame


hot = st.one_of(message(*P.MESSAGES[6]), message(*P.MESSAGES[7]))


@FUZZ
@given(hot, u16)
def test_hand_written_codecs_match_the_table(msg, tag):
    assert type(msg).__name__ in ("Twalk", "Rwalk")
    frame = P.encode(msg, tag)
    assert frame == P.encode_generic(msg, tag)
    assert P.decode_generic(frame, len(frame), type(msg)) == msg


@FUZZ
@given(hot, st.data())
def test_hand_written_decoders_refuse_what_the_table_refuses(msg, data):
    frame = bytearray(P.encode(msg, 7))
    for _ in range(data.draw(st.integers(1, 3))):
        frame[data.draw(st.integers(7, len(frame) - 1))] = data.draw(u8)
    cut = bytes(frame[:data.draw(st.integers(7, len(frame)))])
    cut = struct.pack("<I", len(cut)) + cut[4:]
    try:
        want = P.decode_generic(cut, len(cut), type(msg))
    except P.ProtocolError:
        want = None
    try:
        got = P.decode(cut)[0]
    except P.ProtocolError:
        got = None
    assert got == want
