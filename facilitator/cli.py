"""Command line: ``facilitator serve|demo|db|users|kits|export``. Exit 0 on success,
1 when the command was understood but failed (bad kit, taken username...),
2 on a usage error."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from sqlalchemy import select

from facilitator.domain.kits import KitError, KitLibrary, load_file

DEMO_USER = "facilitator"
DEMO_KIT = "hrh-action-framework"
DEMO_TITLE = "Demo: HRH Action Framework planning"


def _app():  # type: ignore[no-untyped-def]
    # Imported when the command runs: each command loads only what it uses.
    from facilitator.app import create_app

    return create_app()


@click.group(help="Run and manage Facilitator workshops.")
def cli() -> None:
    pass


# -- database -------------------------------------------------------------------


@cli.group(help="Database schema.")
def db() -> None:
    pass


def _upgrade(app) -> None:  # type: ignore[no-untyped-def]
    # Imported when the command runs: each command loads only what it uses.
    from facilitator.core.db import db as database
    from facilitator.core.migrate import upgrade

    assert database.engine is not None
    upgrade(database.engine)


@db.command("upgrade", help="Create or upgrade the schema to the latest migration.")
def db_upgrade() -> None:
    app = _app()
    _upgrade(app)
    click.echo(f"Database is up to date: {_safe_url(app.config['DATABASE_URL'])}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# -- users -------------------------------------------------------------------------


@cli.group(help="Facilitator accounts.")
def users() -> None:
    pass


@users.command("create", help="Create a facilitator account.")
@click.argument("username")
@click.option("--name", "display_name", help="Name shown in the console.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for when not given; read from standard input with --password -",
)
def users_create(username: str, display_name: str | None, password: str) -> None:
    # Imported when the command runs: each command loads only what it uses.
    from facilitator.core.db import db as database
    from facilitator.core.errors import DomainError
    from facilitator.domain.accounts import create_user

    if password == "-":  # noqa: S105 - the stdin marker, not a password
        password = sys.stdin.readline().rstrip("\n")
    app = _app()
    _upgrade(app)
    try:
        with database.transaction() as s:
            user = create_user(s, username, password, display_name)
            name = user.username
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created facilitator {name!r}.")


# -- kits ---------------------------------------------------------------------------


@cli.group(help="Workshop kits.")
def kits() -> None:
    pass


@kits.command("validate", help="Check kit files (all kits when no FILE is given).")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def kits_validate(files: tuple[Path, ...]) -> None:
    # Imported when the command runs: each command loads only what it uses.
    from facilitator.core.config import PROJECT_ROOT

    library = KitLibrary(PROJECT_ROOT / "workshop_kits")
    paths = list(files) or [library.folder / f"{n}.toml" for n in library.names()]
    if not paths:
        raise click.ClickException(f"No kit files in {library.folder}")
    failed = 0
    for path in paths:
        try:
            kit = load_file(path, display=str(path))
        except KitError as exc:
            failed += 1
            click.echo(f"FAIL {exc.file}", err=True)
            for problem in exc.problems:
                click.echo(f"  - {problem}", err=True)
            continue
        click.echo(f"ok   {path}: {kit.title} ({len(kit.stages)} stages, {kit.total_minutes} min)")
    if failed:
        raise click.ClickException(f"{failed} of {len(paths)} kit files are invalid")


@kits.command("show", help="Print a kit's stages and timings as an outline.")
@click.argument("name")
@click.option("--start", default="09:00", help="Clock time of the first stage (HH:MM).")
def kits_show(name: str, start: str) -> None:
    """NAME is a kit's name (the file name without .toml); `facilitator kits show` lists them."""
    # Imported when the command runs: each command loads only what it uses.
    from facilitator.core.config import PROJECT_ROOT
    from facilitator.domain.kits import describe_stage

    library = KitLibrary(PROJECT_ROOT / "workshop_kits")
    try:
        hours, minutes = (int(part) for part in start.split(":"))
        clock = hours * 60 + minutes
        if not (0 <= hours < 24 and 0 <= minutes < 60):
            raise ValueError
    except ValueError:
        raise click.BadParameter(
            f"{start!r} is not a time like 09:00", param_hint="--start"
        ) from None
    try:
        kit = library.load(name)
    except KitError as exc:
        known = ", ".join(library.names()) or "none"
        raise click.ClickException(f"{exc} (kits here: {known})") from None
    click.echo(f"{kit.title}  [{name}]")
    if kit.summary:
        click.echo(f"  {kit.summary}")
    click.echo(
        f"  {len(kit.stages)} stages, {kit.total_minutes // 60} h {kit.total_minutes % 60:02d} min"
    )
    click.echo(f"  sectors: {', '.join(kit.sectors)}")
    if kit.action_fields:
        click.echo(f"  action fields: {', '.join(o.name for o in kit.action_fields)}")
    if kit.stakeholder_map.starters:
        click.echo(f"  starter stakeholders: {len(kit.stakeholder_map.starters)}")
    click.echo("")
    for number, stage in enumerate(kit.stages, 1):
        at = f"{(clock // 60) % 24:02d}:{clock % 60:02d}"
        click.echo(f"{at}  {number:>2}. {stage.title}  ({stage.type}, {stage.minutes} min)")
        for line in describe_stage(stage):
            click.echo(f"           {line}")
        clock += stage.minutes
    click.echo(f"{(clock // 60) % 24:02d}:{clock % 60:02d}  end")


# -- running -------------------------------------------------------------------------


def _serve(app, host: str | None, port: int | None) -> None:  # type: ignore[no-untyped-def]
    # Imported when the command runs: each command loads only what it uses.
    from facilitator.core.runtime import serve

    host = host or app.config["HOST"]
    port = port or app.config["PORT"]
    mode = app.config["ASYNC_MODE"]
    if app.config["PDF_PREWARM"]:
        from facilitator.documents.render_client import renderer  # only when the server warms it

        renderer.start()  # warms up beside the server, so the first PDF is quick too
    click.echo(f"Serving on {host}:{port} ({mode}). Stop with Ctrl+C.", err=True)
    try:
        serve(app, host, port, mode)
    except OSError as exc:
        raise click.ClickException(f"Cannot listen on {host}:{port}: {exc.strerror}") from None
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)


host_option = click.option(
    "--host", help="Address to listen on (default 0.0.0.0 or FACILITATOR_HOST)."
)
port_option = click.option("--port", type=click.IntRange(1, 65535), help="Port (default 5000).")


@cli.command(help="Upgrade the database and run the server.")
@host_option
@port_option
def serve(host: str | None, port: int | None) -> None:
    app = _app()
    _upgrade(app)
    _serve(app, host, port)


@cli.command(help="Run the server with a demo workshop and print where to open it.")
@host_option
@port_option
def demo(host: str | None, port: int | None) -> None:
    app = _app()
    _upgrade(app)
    password, workshop = _prepare_demo(app)
    port = port or app.config["PORT"]
    base = app.config.get("PUBLIC_URL") or f"http://{_lan()}:{port}"
    click.echo(
        "\n".join(
            [
                "",
                "Facilitator demo",
                f"  log in:     {base}/login   user {DEMO_USER!r}  password {password!r}",
                f"  console:    {base}/w/{workshop['id']}/console",
                f"  projector:  {base}/w/{workshop['id']}/projector?key={workshop['key']}",
                f"  join:       {base}/j/{workshop['code']}   (code {workshop['code']})",
                "  Phones on the same Wi-Fi open the join address or scan the projector's QR code.",
                "",
            ]
        )
    )
    _serve(app, host, port)


def _lan() -> str:
    # Imported when the command runs: each command loads only what it uses.
    from facilitator.core.netinfo import lan_address

    return lan_address()


def _prepare_demo(app) -> tuple[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    """The demo account with a fresh password, and the demo workshop (kept across runs)."""
    # Imported when the command runs: each command loads only what it uses.
    from facilitator.core.db import db as database
    from facilitator.domain.accounts import User, create_user, set_password
    from facilitator.domain.seeding import create_workshop
    from facilitator.domain.workshops import Workshop

    password = secrets.token_urlsafe(9)
    library: KitLibrary = app.extensions["facilitator.kits"]
    kit = library.load(DEMO_KIT)
    with database.transaction() as s:
        user = s.scalar(select(User).where(User.username == DEMO_USER))
        if user is None:
            user = create_user(s, DEMO_USER, password, "Demo facilitator")
        else:
            set_password(s, user, password)
        workshop = s.scalar(
            select(Workshop).where(
                Workshop.owner_id == user.id,
                Workshop.title == DEMO_TITLE,
                Workshop.status != "closed",
            )
        )
        if workshop is None:
            workshop = create_workshop(s, user.id, DEMO_KIT, kit, DEMO_TITLE)
        info = {"id": workshop.id, "code": workshop.code, "key": workshop.projector_key}
    return password, info


# -- exports --------------------------------------------------------------------


@cli.command("export", help="Write a frozen plan version as PDF, CSV or JSON.")
@click.argument("workshop")
@click.option(
    "--format", "fmt", type=click.Choice(["pdf", "csv", "json"]), required=True, help="File type."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write ('-' for standard output).",
)
@click.option("--version", "number", type=int, help="Version number (default: the newest).")
def export(workshop: str, fmt: str, output: Path, number: int | None) -> None:
    """WORKSHOP is a workshop's number or its join code."""
    # Imported when the command runs: each command loads only what it uses.
    from facilitator.core.db import db as database
    from facilitator.documents import exports, plan_csv
    from facilitator.domain.signoff import PlanVersion
    from facilitator.domain.workshops import Workshop, normalise_code

    _app()
    with database.reader() as s:
        query = select(Workshop)
        if workshop.isdigit():
            query = query.where(Workshop.id == int(workshop))
        else:
            query = query.where(Workshop.code == normalise_code(workshop)).order_by(
                Workshop.id.desc()
            )
        found = s.scalars(query.limit(1)).first()
        if found is None:
            raise click.ClickException(f"No workshop {workshop!r}.")
        versions = select(PlanVersion).where(PlanVersion.workshop_id == found.id)
        if number is not None:
            versions = versions.where(PlanVersion.number == number)
        version = s.scalars(versions.order_by(PlanVersion.number.desc()).limit(1)).first()
        if version is None:
            which = f"version {number}" if number is not None else "a frozen plan"
            raise click.ClickException(f"Workshop {found.id} ({found.title}) has no {which}.")
        if fmt == "json":
            body = version.canonical.encode("utf-8")
        elif fmt == "csv":
            body = plan_csv.version_csv(version).encode("utf-8")
        else:
            try:
                body = exports.render_now(version.id).pdf
            except RuntimeError as exc:
                raise click.ClickException(f"The PDF could not be made: {exc}") from None
        label = f"version {version.number} of workshop {found.id}, sha256 {version.sha256}"
    if str(output) == "-":
        sys.stdout.buffer.write(body)
    else:
        try:
            output.write_bytes(body)
        except OSError as exc:
            raise click.ClickException(f"Cannot write {output}: {exc.strerror}") from None
        click.echo(f"Wrote {output} ({len(body):,} bytes): {label}.", err=True)


@cli.command("version", help="Print the version.")
def version() -> None:
    # Imported when the command runs: each command loads only what it uses.
    from facilitator import __version__

    click.echo(__version__)
