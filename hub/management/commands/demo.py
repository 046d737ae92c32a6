"""`make demo`: set everything up on the embedded default, then serve the site with a worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from hub.demo_accounts import credentials_path, demo_accounts_ensure
from hub.demo_flow import DemoScale, demo_flow_run


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


READY_TIMEOUT_S = 90.0


def _wait_for_ready(log_path: Path, *, start: int, children: list[subprocess.Popen[bytes]]) -> bool:
    """True once Celery logs "ready." after `start` in the log; False on timeout or a child's death."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        with log_path.open("rb") as handle:
            handle.seek(start)
            if b" ready." in handle.read():
                return True
        if any(child.poll() is not None for child in children):
            return False
        time.sleep(0.3)
    return False


class Command(BaseCommand):
    help = (
        "Run the whole study at toy scale on the embedded default (eval set, tiny base model, finetune, "
        "generation, campaign), then serve the site with one Celery worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")))
        parser.add_argument("--no-serve", action="store_true", help="set up only, do not start the server")
        defaults = DemoScale()
        parser.add_argument("--prompts", type=int, default=defaults.prompts, help="only the first N prompts")
        parser.add_argument("--pretrain-steps", type=int, default=defaults.pretrain_steps)
        parser.add_argument("--finetune-steps", type=int, default=defaults.finetune_steps)
        parser.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("[0/5] applying migrations")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        accounts, created = demo_accounts_ensure()
        scale = DemoScale(
            pretrain_steps=options["pretrain_steps"],
            finetune_steps=options["finetune_steps"],
            max_new_tokens=options["max_new_tokens"],
            prompts=options["prompts"],
        )
        demo_flow_run(scale=scale, rater="demo-rater", out=self.stdout)
        if options["no_serve"]:
            self._print_logins(accounts, created, url=None)
            return
        port = options["port"]
        while not _port_free(port):
            port += 1
        self._serve(port, accounts, created)

    def _print_logins(
        self, accounts: dict[str, str], created: bool, url: str | None, log: Path | None = None
    ) -> None:
        lines = ["", "=" * 64]
        if url:
            lines.append(f"[5/5] serving: open {url} and log in")
        for username, password in accounts.items():
            lines.append(f"    {username:<18} password: {password}")
        lines.append(f"  ({'new accounts; ' if created else ''}passwords are kept in {credentials_path()})")
        if log is not None:
            lines.append(f"  The worker and the server write their log to {log}")
        if url:
            lines.append("  Press Ctrl-C to stop the server and the worker.")
        lines.append("=" * 64)
        self.stdout.write("\n".join(lines))

    def _serve(self, port: int, accounts: dict[str, str], created: bool) -> None:
        python = sys.executable
        bin_dir = os.path.dirname(python)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # The worker's banner and start-up warnings would scroll the logins off the screen: both
        # children write to a log file, named in the box, and the box comes once the worker is up.
        log_path = Path(settings.VAR_DIR) / "logs" / "demo.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("a", encoding="utf-8")
        web = subprocess.Popen(
            [
                os.path.join(bin_dir, "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        start = log_path.stat().st_size
        worker = subprocess.Popen(
            [
                os.path.join(bin_dir, "celery"),
                "-A",
                "config",
                "worker",
                "-Q",
                "gpu,default",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        children = [web, worker]
        url = f"http://127.0.0.1:{port}/"
        self.stdout.write("[5/5] starting the server and the worker")
        if not _wait_for_ready(log_path, start=start, children=children):
            self.stdout.write(f"  the worker is not up yet after {READY_TIMEOUT_S:.0f} s; see {log_path}")
        self._print_logins(accounts, created, url=url, log=log_path)
        stop = False

        def _stop(signum: int, frame: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop and all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
            log.close()
            self.stdout.write("Stopped the server and the worker.")
        dead = [
            child for child in children if child.returncode not in (0, -signal.SIGTERM, None) and not stop
        ]
        if dead:
            sys.exit(1)
