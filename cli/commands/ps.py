"""``pyrunsc ps``: the processes of a container.

The table has runsc's columns; ``--format json`` prints what runc prints
and containerd reads: a JSON array of host pids.
"""
import click

from cli.commands import _util

COLUMNS = ("UID", "PID", "PPID", "C", "STIME", "TIME", "CMD")


def format_table(procs):
    rows = [COLUMNS] + [
        (str(p.get("uid", "")), str(p.get("pid", "")), str(p.get("ppid", "")),
         str(p.get("c", 0)), str(p.get("stime", "")), str(p.get("time", "")),
         str(p.get("cmd", "")))
        for p in procs]
    widths = [max(10, max(len(r[i]) for r in rows) + 1)
              for i in range(len(COLUMNS) - 1)]
    return "\n".join("".join(r[i].ljust(widths[i])
                             for i in range(len(widths))) + r[-1]
                     for r in rows)


@click.command("ps", short_help="Show the processes of a container.")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]),
              default="table", show_default=True,
              help="json: an array of host pids (runc, containerd).")
@click.argument("container_id")
@click.pass_obj
def command(config, fmt, container_id):
    """Show the processes running in CONTAINER_ID."""
    procs = _util.load(config, container_id).processes()
    if fmt == "json":
        _util.echo_json([p["host_pid"] for p in procs])
    else:
        click.echo(format_table(procs))
