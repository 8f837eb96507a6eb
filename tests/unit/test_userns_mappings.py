"""User namespace mappings validated before the fork (runtime/init.py
``id_mappings``) and the rlimit ordering helper of runtime/process.py; no
root needed."""
import resource

import pytest

from runtime import init, process
from runtime.errors import InvalidSpecError


def _spec(uid=None, gid=None, ns=({"type": "user"}, {"type": "mount"}),
          user=None):
    linux = {"namespaces": [dict(n) for n in ns]}
    if uid is not None:
        linux["uidMappings"] = uid
    if gid is not None:
        linux["gidMappings"] = gid
    spec = {"linux": linux, "process": {"args": ["sh"]}}
    if user is not None:
        spec["process"]["user"] = user
    return spec


def _m(c, h, n):
    return {"containerID": c, "hostID": h, "size": n}


def _maps(spec):
    return init.id_mappings(spec, init.namespace_plan(spec))


def test_maps_text_one_line_per_mapping():
    spec = _spec([_m(0, 100000, 1000), _m(1000, 300000, 10)],
                 [_m(0, 200000, 65536)])
    assert _maps(spec) == ("0 100000 1000\n1000 300000 10\n",
                           "0 200000 65536\n")


def test_no_user_namespace_no_maps():
    assert _maps(_spec(ns=({"type": "mount"},))) is None


def test_joined_user_namespace_writes_no_maps():
    spec = _spec([_m(0, 1, 1)], [_m(0, 1, 1)],
                 ns=({"type": "user", "path": "/proc/1/ns/user"},))
    assert _maps(spec) is None


@pytest.mark.parametrize("spec, field, what", [
    (_spec(None, [_m(0, 1, 1)]), "linux.uidMappings", "is required"),
    (_spec([_m(0, 1, 1)], []), "linux.gidMappings", "is required"),
    (_spec([_m(0, 1, 1)], [_m(0, 1, 1)], ns=({"type": "mount"},)),
     "linux.uidMappings", "needs a user namespace"),
    (_spec([_m(0, 1, 0)], [_m(0, 1, 1)]), "linux.uidMappings[0].size",
     "greater than zero"),
    (_spec([_m(0, 100, 10)], [_m(0, 1, 1), _m(5, 100, 0)]),
     "linux.gidMappings[1].size", "greater than zero"),
    (_spec([_m(0, 100, 10), _m(5, 500, 10)], [_m(0, 1, 1)]),
     "linux.uidMappings[1].containerID", "overlap linux.uidMappings[0]"),
    (_spec([_m(0, 100, 10), _m(10, 109, 10)], [_m(0, 1, 1)]),
     "linux.uidMappings[1].hostID", "overlap linux.uidMappings[0]"),
    (_spec([_m(0, 4294967290, 10)], [_m(0, 1, 1)]),
     "linux.uidMappings[0].size", "overflows"),
    (_spec([_m(0, -1, 10)], [_m(0, 1, 1)]),
     "linux.uidMappings[0].hostID", "non-negative"),
    (_spec([_m(1, 100, 10)], [_m(0, 1, 1)]),
     "linux.uidMappings", "uid 0 (the runtime's root) is not mapped"),
    (_spec([_m(0, 100, 10)], [_m(0, 1, 1)], user={"uid": 10, "gid": 0}),
     "process.user.uid", "uid 10 is not mapped"),
    (_spec([_m(0, 100, 10)], [_m(0, 1, 1)], user={"uid": 9, "gid": 1}),
     "process.user.gid", "gid 1 is not mapped"),
])
def test_invalid_maps_name_the_field(spec, field, what):
    with pytest.raises(InvalidSpecError) as ei:
        _maps(spec)
    assert str(ei.value).startswith(field + ":"), str(ei.value)
    assert what in str(ei.value)


def test_adjacent_ranges_do_not_overlap():
    spec = _spec([_m(0, 100, 10), _m(10, 110, 10)], [_m(0, 1, 1)])
    assert _maps(spec)[0] == "0 100 10\n10 110 10\n"


def test_too_many_mappings():
    uid = [_m(i, 1000 + i, 1) for i in range(341)]
    with pytest.raises(InvalidSpecError, match="more than 340"):
        _maps(_spec(uid, [_m(0, 1, 1)]))


def test_parse_id_map():
    text = "         0     200000      65536\n      1000 1000 1\n"
    assert init.parse_id_map(text) == [(0, 200000, 65536), (1000, 1000, 1)]


def test_rlimit_order():
    inf = resource.RLIM_INFINITY
    assert process._above(inf, 1024)
    assert process._above(2048, 1024)
    assert not process._above(1024, 1024)
    assert not process._above(1024, inf)
    assert not process._above(inf, inf)
    assert not process._above(10, 1024)
