"""The ``undersigned`` command-line program: one click group wrapping the management commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "undersigned.settings")
    import django

    django.setup()


CLIENT_COMMANDS = {"sign", "withdraw", "audit"}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="undersigned")
@click.pass_context
def main(ctx: click.Context) -> None:
    """undersigned: open letters with verified, anonymous signatures and auditable counts."""
    # Runs only when a subcommand is about to run (not for --help). The commands that talk to a site
    # over HTTP need no database, settings or secrets on the machine they run on.
    if ctx.invoked_subcommand in CLIENT_COMMANDS:
        return
    try:
        setup_django()
    except Exception as error:  # ImproperlyConfigured and friends: say it plainly, without a traceback
        raise click.ClickException(str(error)) from error


@main.command()
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="Web processes, each with 4 threads (default: one per core, at least 2).")
@click.option("--no-worker", is_flag=True, help="Do not start the background worker (run `undersigned worker` yourself).")
@click.option("--no-demo", is_flag=True, help="Do not create the demo letter in an empty database.")
def serve(bind: str, port: int, workers: int | None, no_worker: bool, no_demo: bool) -> None:
    """Prepare the database and serve the site with gunicorn (and a background worker)."""
    from django.conf import settings

    from undersigned.organizers.setup import prepare_site

    if not os.getenv("SITE_URL"):
        # Links in emails and printed here point at where we listen, unless told otherwise.
        host = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind
        settings.SITE_URL = os.environ["SITE_URL"] = f"http://{host}:{port}"
        settings.ALLOWED_HOSTS.append(host)
    for line in prepare_site(with_demo=not no_demo):
        click.echo(line)
    worker = None
    if not no_worker:
        worker = subprocess.Popen([sys.executable, "-m", "undersigned", "worker"])
    # One process per core: each has 4 threads to overlap its database and network waits. gunicorn's
    # usual 2 × cores + 1 processes cost about 15% more CPU per signing on 2 cores (bench/signing.py,
    # 2026-11-29: web 23–26 ms against 29–30 ms per signing) for no more throughput.
    workers = workers or max(2, os.cpu_count() or 1)
    click.echo(f"Serving at http://{bind}:{port}/ (Ctrl+C to stop)")
    command = [
        sys.executable, "-m", "gunicorn", "undersigned.wsgi:application",
        "--bind", f"{bind}:{port}", "--workers", str(workers), "--worker-class", "gthread", "--threads", "4",
        "--preload",  # import the application once, then fork: faster start, shared memory
        # Idle keep-alive connections wait in each process's poller at no cost; gunicorn's 2 s closed
        # some just as a client sent its next request on them (a POST is not retried: the signing bench
        # lost one or two signings a run to "connection reset by peer").
        "--keep-alive", "5",
        # No access log: it would pair network addresses and user agents with what they requested.
        "--error-logfile", "-", "--log-level", "warning", "--graceful-timeout", "5",
    ]
    web = subprocess.Popen(command)

    def stop(signum, frame):  # noqa: ARG001
        for process in (web, worker):
            if process and process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        code = web.wait()
    finally:
        stop(None, None)
        if worker:
            worker.wait(timeout=10)
    sys.exit(code if code > 0 else 0)


@main.command()
@click.option("--once", is_flag=True, help="Run every due job once, then exit.")
@click.option("--interval", default=0.25, show_default=True, type=click.FloatRange(0.05, 60),
              help="Seconds between polls of the outbox when it is empty (a confirmation link waits at most this long).")
def worker(once: bool, interval: float) -> None:
    """Send emails and run scheduled jobs (opening and closing letters, publishing batches)."""
    from undersigned.messaging.worker import run_worker

    run_worker(once=once, interval=interval)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command (e.g. `undersigned manage migrate`)."""
    from django.core.management import execute_from_command_line

    execute_from_command_line(["undersigned manage", *args])


@main.command("organizer-link")
@click.option("--username", default="organizer", show_default=True, help="The organizer account (created if missing).")
def organizer_link(username: str) -> None:
    """Print a one-time link that signs an organizer in (valid 24 hours)."""
    from undersigned.organizers.accounts import organizer_login_link

    click.echo(organizer_login_link(username))


def _register_app_commands() -> None:
    """App command groups live beside their app; import them here so `main` lists them."""
    from undersigned.companies.cli import companies
    from undersigned.contracts.cli import contracts
    from undersigned.ledger.cli import audit, export, rotate_log_key
    from undersigned.verification.cli import sign, withdraw

    main.add_command(companies)
    main.add_command(contracts)
    main.add_command(sign)
    main.add_command(withdraw)
    main.add_command(audit)
    main.add_command(export)
    main.add_command(rotate_log_key)


_register_app_commands()
