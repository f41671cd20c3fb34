"""A real `kenning serve` in a subprocess, with two users and their own photos."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from conftest import DEV, IMAGENET, KenningCli

JOHNS = DEV / "faces" / "dlib_johns" / "examples" / "johns"
GROUPS = DEV / "faces" / "dlib_johns" / "examples" / "faces"
PASSWORDS = {"alice": "alice-secret-1", "bob": "bob-secret-22"}
ARTIFACTS = Path(os.environ.get("KENNING_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[1] / "test-artifacts"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    root: Path
    cli: KenningCli
    process: subprocess.Popen
    libraries: dict[str, Path]
    tokens: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    def client(self, user: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def wait_idle(self, user: str, timeout: float = 300) -> dict:
        """Until nothing is queued, running or pending for this user."""
        end = time.monotonic() + timeout
        with self.client(user) as http:
            while time.monotonic() < end:
                status = http.get("/api/status").json()
                busy = status["processing"]["running"] or status["processing"]["queued_mounts"]
                pending = any(c["pending"] for c in status["classifiers"])
                if not busy and not pending and status["processing"]["last_runs"]:
                    return status
                time.sleep(0.3)
        raise AssertionError(f"server still busy after {timeout} s: {status}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def peak_rss_mb(pid: int) -> float:
    """The most memory a process has held so far (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status
                    if line.startswith("VmHWM:"))


def make_libraries(root: Path) -> dict[str, Path]:
    """alice: the five Johns (11 photos each) and three ImageNet photos; bob: a group photo
    and two ImageNet photos of his own."""
    alice, bob = root / "alice photos", root / "bob"
    for person in sorted(JOHNS.iterdir()):
        shutil.copytree(person, alice / "johns" / person.name)
    for name in ("n01530575_brambling", "n01774750_tarantula", "n01440764_tench"):
        shutil.copyfile(IMAGENET / f"{name}.JPEG", alice / f"{name}.jpg")
    bob.mkdir(parents=True)
    shutil.copyfile(GROUPS / "bald_guys.jpg", bob / "bald_guys.jpg")
    for name in ("n01669191_box_turtle", "n01443537_goldfish"):
        shutil.copyfile(IMAGENET / f"{name}.JPEG", bob / f"{name}.jpg")
    return {"alice": alice, "bob": bob}


def start_server(root: Path, classifiers: str = "objects,faces,places",
                 extra_env: dict | None = None, serve_args: tuple[str, ...] = (),
                 more_files=None) -> Server:
    """`more_files(libraries)`, when given, adds files to the libraries before indexing."""
    root.mkdir(parents=True, exist_ok=True)
    cli = KenningCli(root / "data")
    cli.env["KENNING_CLASSIFIERS"] = classifiers
    cli.env.update(extra_env or {})
    libraries = make_libraries(root)
    if more_files is not None:
        more_files(libraries)
    for user, folder in libraries.items():
        cli("user", "add", user, "--mount", folder, *(["--admin"] if user == "alice" else []),
            "--password-stdin", input=(PASSWORDS[user] + "\n").encode())
    tokens = {user: cli("user", "token", user, "--json").json()["token"] for user in PASSWORDS}
    port = free_port()
    log_path = root / "serve.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "kenning", "serve", "--port", str(port), "--rescan-minutes", "60",
         *serve_args],
        env=cli.env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", root, cli, process, libraries, tokens, log_path)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"kenning serve exited:\n{server.log()}")
        try:
            if httpx.get(server.url + "/api/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise AssertionError(f"kenning serve did not answer:\n{server.log()}")


def sign_in(browser: httpx.Client, name: str, password: str, **more) -> httpx.Response:
    """Sign in as a browser does: the form first (its CSRF token, in the page and in a
    cookie), then the form posted back with it."""
    import re

    form = browser.get("/login")
    token = re.search(r'name="csrf" value="([^"]*)"', form.text)
    return browser.post("/login", data={"name": name, "password": password,
                                        "csrf": token.group(1) if token else "", **more})
