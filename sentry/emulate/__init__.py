"""The platform-independent syscall-emulation layer.

``_core`` (Cython) holds the call record that a platform fills in, the
dispatch table indexed by syscall number and the directfs backend: paths are
resolved against the container's root directory fd with
``openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)``.  The handlers live one
family per file (``*.pxi``, included into ``_core``) so that the hot path is
one C call from the platform loop to the handler with no module boundary.
"""
