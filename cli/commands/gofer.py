"""``pyrunsc gofer`` (internal): the file server of one container.

Started by boot (never by users) as::

    pyrunsc <global flags> gofer --bundle DIR --sock-fd N [--sock-fd M...]
        [--spec FILE] [--no-seccomp]

and served by ``runtime.gofer.main``.
"""
import click


@click.command("gofer", short_help="Internal: the gofer process.")
@click.option("--bundle", required=True, metavar="DIR")
@click.option("--sock-fd", "sock_fds", type=int, required=True, multiple=True,
              help="SOCK_SEQPACKET socket to the sentry (repeatable: one "
                   "per sentry connection).")
@click.option("--spec", "spec_path", metavar="FILE",
              help="The container's spec (default <bundle>/config.json).")
@click.option("--seccomp/--no-seccomp", default=True, show_default=True,
              help="Install the gofer's own seccomp filter.")
@click.pass_obj
def command(config, bundle, sock_fds, spec_path, seccomp):
    """Serve a container's files to its sandbox."""
    from runtime import gofer
    return gofer.main(bundle, list(sock_fds), spec_path=spec_path,
                      seccomp=seccomp)
