"""`kenning serve --systemd`: a systemd unit that starts this very server at boot, as the
user who asked for it, with the same data dir and flags.

Settings with secrets in them (a database URL with a password, a broker URL) are never
written into the unit, which every user of the machine can read: they belong in the data
dir's config.toml, readable by its owner alone. The unit keeps the server from gaining
privileges and from writing to the system's own folders; it reads the photos as the user
does."""

from __future__ import annotations

import os
import pwd
import re
import sys

DESCRIPTION = "Kenning: private recognition for your photo library"
_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def quoted(arg: str, command: bool = True) -> str:
    """One word of an ExecStart= line (`command`) or an Environment= line, as systemd
    reads it back: % starts a specifier in both, $ a variable in a command only."""
    arg = arg.replace("%", "%%")
    if command:
        arg = arg.replace("$", "$$")
    if _PLAIN.fullmatch(arg):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def unit(serve_args: list[str], data_dir: str, config: str | None,
         services: tuple[str, ...] = ()) -> str:
    """The unit's text. `serve_args`: the flags after `kenning serve`; `services`: local
    services it needs first (postgresql.service)."""
    user = pwd.getpwuid(os.getuid()).pw_name
    command = [sys.executable, "-m", "kenning", "serve", *serve_args]
    after = " ".join(("network-online.target", *services))
    environment = [f"KENNING_DATA_DIR={os.path.abspath(data_dir)}"]
    if config:
        environment.append(f"KENNING_CONFIG={os.path.abspath(config)}")
    lines = [
        "# Kenning's server, started at boot. Made as the user whose photos these are:",
        "#   kenning serve --systemd ... > kenning.service",
        "# then, as root:",
        "#   cp kenning.service /etc/systemd/system/ && systemctl daemon-reload",
        "#   systemctl enable --now kenning",
        "# Its log: journalctl -u kenning. Settings go in config.toml in the data dir (this",
        "# file is readable by every user: no passwords here).",
        "[Unit]",
        f"Description={DESCRIPTION}",
        f"After={after}",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=exec",
        f"User={user}",
        "ExecStart=" + " ".join(quoted(a) for a in command),
        *(f"Environment={quoted(e, command=False)}" for e in environment),
        "Restart=on-failure",
        "RestartSec=5",
        "TimeoutStopSec=30",
        "UMask=0077",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectSystem=full",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)
