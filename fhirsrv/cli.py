"""The ``fhirsrv`` command: serve | db migrate | validate | import | token."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from .config import Settings


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Start (or adopt) the database, migrate, and serve with gunicorn until stopped."""
    from gunicorn.app.base import BaseApplication

    from .app import create_app
    from .db.database import open_database

    settings = Settings.from_env()
    if args.host:
        settings = settings.with_(host=args.host)
    if args.port:
        settings = settings.with_(port=args.port)
    if args.workers:
        settings = settings.with_(workers=args.workers)
    _configure_logging(settings)
    database = open_database(settings)
    try:
        app = create_app(settings, conninfo=database.conninfo)
        services = app.extensions["fhirsrv"]
        services.warm_up()  # definitions, validator, terminology: loaded once here, shared by the forked workers

        class Server(BaseApplication):
            def __init__(self, options: dict[str, Any]) -> None:
                self.options = options
                super().__init__()

            def load_config(self) -> None:
                for key, value in self.options.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                return app

        logging.getLogger("fhirsrv").info(
            "serving FHIR R4 at http://%s:%d%s", settings.host, settings.port, settings.base_path
        )
        Server(
            {
                "bind": f"{settings.host}:{settings.port}",
                "workers": settings.workers,
                "threads": settings.threads,
                "worker_class": "gthread",
                "timeout": 120,
                "graceful_timeout": 20,
                "accesslog": None,
                # no control socket: it would create ~/.gunicorn in the user's home
                "control_socket_disable": True,
                "loglevel": settings.log_level.lower(),
            }
        ).run()
    finally:
        database.release()
    return 0


def cmd_db_migrate(args: argparse.Namespace) -> int:
    from .db.database import open_database

    settings = Settings.from_env()
    _configure_logging(settings)
    database = open_database(settings, apply_migrations=False)
    try:
        from .db.migrate import migrate

        applied = migrate(database.conninfo)
        print(f"applied {len(applied)} migration(s): {applied}" if applied else "database is up to date")
    finally:
        database.release()
    return 0


def cmd_validate(args: argparse.Namespace, rest: list[str]) -> int:
    from .validation.cli import run

    return run(rest)


def cmd_import(rest: list[str]) -> int:
    from .importer.cli import run

    return run(rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fhirsrv", description="FHIR R4 server for patient summaries")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (gunicorn) on the embedded or configured Postgres")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1, FHIRSRV_HOST)")
    serve.add_argument("--port", type=int, help="port (default 8080, FHIRSRV_PORT)")
    serve.add_argument("--workers", type=int, help="gunicorn worker processes (FHIRSRV_WORKERS)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("migrate", help="apply pending migrations (safe to run twice)")
    sub.add_parser("validate", help="validate FHIR JSON files (see fhirsrv validate --help)", add_help=False)
    sub.add_parser("import", help="load Bundles, resources and NDJSON (see fhirsrv import --help)", add_help=False)
    sub.add_parser("token", help="mint development tokens and client keys (see fhirsrv token --help)",
                   add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "validate":
        return cmd_validate(argparse.Namespace(), argv[1:])
    if argv and argv[0] == "token":
        from .security.cli import run as token_run

        return token_run(argv[1:])
    if argv and argv[0] == "import":
        return cmd_import(argv[1:])
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "db" and args.db_command == "migrate":
        return cmd_db_migrate(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
