"""``pyrunsc list``: the containers under --root, as runc lists them."""
import click

from cli.commands import _util

HEADER = ("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")


def format_table(rows):
    """Columns as Go's tabwriter lays out runc's list (min 12, padding 3)."""
    rows = [HEADER] + [tuple(str(v) for v in r) for r in rows]
    widths = [max(12, max(len(r[i]) for r in rows) + 3)
              for i in range(len(HEADER) - 1)]
    lines = []
    for r in rows:
        cells = [r[i].ljust(widths[i]) for i in range(len(widths))]
        lines.append("".join(cells) + r[-1])
    return "\n".join(lines)


def state_of(c):
    """runc's JSON list entry of one container."""
    st = c.state()
    out = {"ociVersion": st.get("ociVersion", ""), "id": c.id,
           "pid": st.get("pid", 0), "status": c.status,
           "bundle": c.bundle, "rootfs": st.get("rootfs", ""),
           "created": c.created, "owner": c.owner}
    if c.annotations:
        out["annotations"] = c.annotations
    return out


@click.command("list", short_help="List containers.")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]),
              default="table", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="Only the ids.")
@click.pass_obj
def command(config, fmt, quiet):
    """List the containers under --root."""
    containers = _util.container_class().list(config)
    if quiet:
        for c in containers:
            click.echo(c.id)
    elif fmt == "json":
        _util.echo_json([state_of(c) for c in containers])
    else:
        click.echo(format_table(
            (c.id, c.pid if c.status != "stopped" else 0, c.status,
             c.bundle, c.created, c.owner) for c in containers))
