"""The key that signs public links: production must configure it; the demo and tests make one.

``patron serve``, ``patron worker`` and ``patron check --deploy`` refuse to run without a key
from the environment unless PATRON_DEBUG is on: one line on stderr, exit code 2.
"""

from __future__ import annotations

import os
import secrets
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from patron.config import secret_key

PATRON = [sys.executable, "-m", "patron.cli"]
# What a production shell may hold that would let a command through: none of it here.
UNSET = {"SECRET_KEY", "PATRON_SECRET_KEY", "PATRON_DEBUG", "PATRON_TESTING", "DATABASE_URL"}


def run(*args: str, data_dir: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in UNSET}
    full_env.update(PATRON_DATA_DIR=str(data_dir), **env)
    return subprocess.run([*PATRON, *args], capture_output=True, text=True, env=full_env, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "--no-migrate", "--port", "0"),  # the port is set below
        ("worker",),
        ("worker", "--batch"),
        ("db_worker",),
        ("check", "--deploy"),
    ],
)
def test_serving_commands_refuse_to_run_without_a_configured_key(args, tmp_path):
    if args[0] == "serve":
        args = (*args[:-1], str(free_port()))
    result = run(*args, data_dir=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stdout == "", result.stderr
    command = "check --deploy" if args[0] == "check" else args[0]
    assert lines[0].startswith(f"patron {command}: SECRET_KEY is not set.")
    assert "PATRON_SECRET_KEY" in lines[0] and "docs/configuration.md" in lines[0]


def test_with_a_configured_key_or_debug_on_check_deploy_runs(tmp_path):
    key = secrets.token_urlsafe(50)
    configured = run("check", "--deploy", data_dir=tmp_path, SECRET_KEY=key)
    assert configured.returncode == 0, configured.stderr
    assert "SECRET_KEY is not set" not in configured.stderr and "security.W009" not in configured.stderr
    debug = run("check", "--deploy", data_dir=tmp_path, PATRON_DEBUG="1")
    assert debug.returncode == 0, debug.stderr
    assert "SECRET_KEY is not set" not in debug.stderr
    # The commands that sign nothing need no configured key.
    assert run("check", data_dir=tmp_path).returncode == 0


def test_the_published_development_key_is_refused_as_a_configured_key(tmp_path):
    published = next(iter(secret_key.PUBLISHED_KEYS))
    result = run("check", data_dir=tmp_path, SECRET_KEY=published)
    assert result.returncode == 2
    assert result.stderr.startswith("patron: configuration error: SECRET_KEY is the development key published")
    with pytest.raises(ImproperlyConfigured):
        secret_key.from_environment({"PATRON_SECRET_KEY": published})


def test_the_data_folder_key_is_made_once_readable_by_its_owner_only(tmp_path):
    folder = tmp_path / "fresh" / "data"  # a fresh clone has no data folder yet
    key = secret_key.local_key(folder)
    path = folder / secret_key.FILE_NAME
    assert len(key) >= 50 and key not in secret_key.PUBLISHED_KEYS
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key.local_key(folder) == key
    assert secret_key.local_key(tmp_path) != key  # another installation, another key
    path.chmod(0o644)  # copied around carelessly: made private again, still the same key
    assert secret_key.local_key(folder) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == [secret_key.FILE_NAME]  # no temporary file left


def test_processes_starting_together_agree_on_one_key(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _i: secret_key.local_key(tmp_path), range(32)))
    assert len(keys) == 1


def test_an_unusable_key_file_is_a_clear_error(tmp_path):
    (tmp_path / secret_key.FILE_NAME).write_text("short\n")
    with pytest.raises(ImproperlyConfigured, match="holds no usable key"):
        secret_key.local_key(tmp_path)
    result = run("check", data_dir=tmp_path)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert "holds no usable key" in result.stderr


def test_the_test_run_signs_with_the_data_folder_key(settings):
    if settings.PATRON_SECRET_KEY_CONFIGURED:
        pytest.skip("this run has SECRET_KEY in its environment")
    assert (settings.DATA_DIR / secret_key.FILE_NAME).read_text().strip() == settings.SECRET_KEY


def _get_json(url: str) -> dict:
    import json
    import urllib.error

    try:
        with urllib.request.urlopen(url, timeout=5) as page:
            return json.load(page)
    except urllib.error.HTTPError as failing:  # /healthz answers 503 with the same body
        return json.load(failing)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped yet is a zombie: gone for our purpose.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.slow
def test_the_demo_runs_from_a_fresh_folder_with_no_configuration(tmp_path):
    """The README's `make demo`: the web server and the background worker beside it, with no
    configuration; stopping the demo stops its worker."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env["PATRON_DATA_DIR"] = str(tmp_path)
    demo = subprocess.Popen(
        [*PATRON, "demo", "--customers", "60", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    health: dict = {}
    try:
        deadline = time.monotonic() + 600
        status = None
        while time.monotonic() < deadline and demo.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as page:
                    status = page.status
                break
            except OSError:
                time.sleep(1)
        assert status == 200, f"the demo did not serve (exit {demo.poll()})"
        # The worker's heartbeat reaches /healthz: it runs, on the demo's database, with its key.
        while time.monotonic() < deadline:
            health = _get_json(f"http://127.0.0.1:{port}/healthz")
            if health.get("worker_heartbeat_age_seconds") is not None:
                break
            time.sleep(1)
        # Stopping the demo (the server's SIGTERM, as a service manager sends it) stops the worker.
        demo.terminate()
        output = demo.communicate(timeout=60)[0]
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, 9)
            demo.communicate(timeout=60)
    assert health.get("worker_heartbeat_age_seconds") is not None, health
    assert health["status"] == "ok", health
    assert "SECRET_KEY is not set" not in output
    started = [line for line in output.splitlines() if line.startswith("Background worker started (pid ")]
    assert started, output
    worker_pid = int(started[0].split("(pid ")[1].split(",")[0])
    deadline = time.monotonic() + 15
    while _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker_pid), "the demo's worker outlived the demo"
    assert "SECRET_KEY is not set" not in (tmp_path / "worker.log").read_text()
    key_file = tmp_path / secret_key.FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text().strip()) >= 50
