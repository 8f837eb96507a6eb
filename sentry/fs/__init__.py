"""The container's filesystem view in the sentry: the mount table
(``mounts.py``) and the filesystems the sentry serves itself (``special.py``
dispatching to ``procfs``/``devfs``/``sysfs``).  Contract:
docs/architecture.md "The mount table and special filesystems"."""
