"""``pyrunsc syscalls``: the sentry's syscall table (support levels)."""
import click


@click.command("syscalls", short_help="Print the syscall support table.")
@click.option("--format", "-f", "fmt", default="table", show_default=True,
              metavar="table|json",
              help="Output format (whatever sentry.syscalls formats).")
def command(fmt):
    """Every x86-64 syscall: what the sentry does with it, and notes."""
    from sentry import syscalls
    try:
        out = syscalls.format_table(fmt)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--format'")
    click.echo(out, nl=not out.endswith("\n"))
