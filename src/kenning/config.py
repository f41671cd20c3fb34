"""Settings: defaults, then a TOML file, then KENNING_* environment variables, then flags.

The config file is `<data dir>/config.toml` (or the path in KENNING_CONFIG). Keys:

    database_url = "sqlite:///..."      # default: kenning.db in the data dir
    workers = 2                         # batches processed at once by the LocalExecutor
    batch_size = 8                      # files per batch
    classifiers = ["objects", "faces", "music", "video", "places", "landmarks"]
    objects_model = "efficientnet_lite2" # or a path to another ImageNet-1k ONNX file
    face_embedder = "sface_2021dec_int8" # or "sface_2021dec" (float: 1.5x slower)
    landmark_threshold = 0.5            # least score for a landmark tag (your landmark model)
    user = ""                           # whom the command line acts as; empty: the library's
                                        # owner (its first admin, else its first user with
                                        # folders; "local" in a new library)
    broker_url = ""                     # redis://host:6379/0 or amqp://...: use `kenning worker`s
    broker_queue = "kenning"            # the broker queue (one per library sharing a broker)
    claim_timeout = 30                  # seconds without a worker's heartbeat: resend
    isolate_decoding = true             # decode in a child process (crash- and hang-proof)
    decode_timeout = 60                 # seconds to decode a photo (a song or video: 10x)
    preview_cache_mb = 4096             # the web page's previews and thumbnails, at most
    index_thumbnails = true             # make the photo grid's thumbnails while indexing
    trusted_proxies = ""                # reverse proxies whose X-Forwarded-For is believed
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import platformdirs


class ConfigError(ValueError):
    """The configuration is wrong in a way the user must fix."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("kenning", appauthor=False))


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str = ""
    workers: int = max(1, min(4, os.cpu_count() or 1))
    batch_size: int = 8
    classifiers: tuple[str, ...] = ("objects", "faces", "music", "video", "places",
                                     "landmarks")
    objects_model: str = "efficientnet_lite2"
    face_embedder: str = "sface_2021dec_int8"
    landmark_threshold: float = 0.5
    user: str = ""  # empty: the library's owner (users.library_owner)
    broker_url: str = ""
    broker_queue: str = "kenning"
    claim_timeout: int = 30
    isolate_decoding: bool = True
    decode_timeout: float = 60.0  # seconds to decode one photo (songs and videos: 10x)
    import_xmp: bool = True  # read names and keywords from XMP sidecars and files at indexing
    preview_cache_mb: int = 4096  # the web page's previews and thumbnails, at most
    index_thumbnails: bool = True  # the grid's 240 px thumbnails made while indexing
    trusted_proxies: str = ""  # comma-separated addresses of reverse proxies (`kenning serve`)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kenning.db'}"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def own_paths(self) -> tuple[Path, ...]:
        """Kenning's own folder and files, which no mount may hold (nor lie in): the data
        folder, and a SQLite database with its -wal and -shm files wherever
        `database_url` puts it (reading them as media breaks SQLite's locks)."""
        paths = [self.data_dir]
        if self.db_url.startswith("sqlite:///"):
            database = Path(self.db_url.removeprefix("sqlite:///").split("?", 1)[0])
            paths += [database, database.with_name(database.name + "-wal"),
                      database.with_name(database.name + "-shm")]
        return tuple(paths)


def boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


_CASTS = {"workers": int, "batch_size": int, "data_dir": Path, "landmark_threshold": float,
          "claim_timeout": int, "isolate_decoding": boolean, "decode_timeout": float,
          "preview_cache_mb": int, "import_xmp": boolean, "index_thumbnails": boolean}


def _coerce(name: str, value: object) -> object:
    if name == "classifiers":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return tuple(value)  # type: ignore[arg-type]
    cast = _CASTS.get(name, str)
    try:
        result = cast(value)  # type: ignore[operator]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: {value!r} is not a valid {cast.__name__}") from exc
    if name == "decode_timeout" and not 0 < result <= 86400:  # type: ignore[operator]
        raise ConfigError(f"setting {name!r} must be a number of seconds, not {result}")
    if name in ("workers", "batch_size", "claim_timeout", "preview_cache_mb") and result < 1:  # type: ignore[operator]
        raise ConfigError(f"setting {name!r} must be at least 1, not {result}")
    if name == "broker_queue" and not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", str(result)):
        raise ConfigError(f"setting {name!r}: {result!r} is not a queue name (letters, digits, "
                          "_ . -)")
    if name == "landmark_threshold" and not 0.0 < result <= 1.0:  # type: ignore[operator]
        raise ConfigError(f"setting {name!r} must be a score in (0, 1], not {result}")
    return result


def load_settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    """Settings for this run; `data_dir` and `overrides` come from command-line flags."""
    env = os.environ
    names = {f.name for f in fields(Settings)}
    chosen_dir = data_dir or (Path(env["KENNING_DATA_DIR"]) if env.get("KENNING_DATA_DIR")
                              else default_data_dir())
    values: dict[str, object] = {"data_dir": chosen_dir.expanduser()}
    config_file = Path(env.get("KENNING_CONFIG") or chosen_dir / "config.toml")
    if config_file.is_file():
        try:
            loaded = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_file}: {exc}") from exc
        unknown = set(loaded) - names - {"data_dir"}
        if unknown:
            raise ConfigError(f"{config_file}: unknown settings {', '.join(sorted(unknown))}")
        values.update({k: _coerce(k, v) for k, v in loaded.items() if k != "data_dir"})
    for name in names - {"data_dir"}:
        if f"KENNING_{name.upper()}" in env:
            values[name] = _coerce(name, env[f"KENNING_{name.upper()}"])
    values.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None})
    return replace(Settings(), **values)  # type: ignore[arg-type]
