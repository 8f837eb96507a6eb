"""``pyrunsc boot`` (internal): the sandbox process; see runtime/boot.py."""
import click


@click.command("boot", short_help="Internal: the sandbox process.")
@click.option("--bundle", required=True, metavar="DIR")
@click.option("--sync-fd", type=int, required=True,
              help="Socket to the CLI that created the sandbox.")
@click.option("--console-fd", type=int, default=None,
              help="Connected console socket, for a terminal container.")
@click.argument("container_id")
@click.pass_obj
def command(config, bundle, sync_fd, console_fd, container_id):
    """Run the sandbox of CONTAINER_ID (started by create, not by users)."""
    from runtime import boot
    return boot.main(config, container_id, bundle, sync_fd, console_fd)
