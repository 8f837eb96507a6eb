"""``pyrunsc gofer`` (internal): the file server of one container."""
import click

from runtime.errors import SandboxError


@click.command("gofer", short_help="Internal: the gofer process.",
               context_settings={"ignore_unknown_options": True,
                                 "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def command(config, args):
    """Serve a container's files to its sandbox (started by boot)."""
    try:
        from runtime import gofer
    except ImportError:
        raise SandboxError("gofer is not implemented yet") from None
    return gofer.main(config, list(args))
