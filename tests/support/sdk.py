"""The official SDKs, each in its own virtual environment, driven from the tests.

    python = sdk_python("0.7.20")             # created once, then cached
    with SdkDriver(python) as driver:
        sdk = driver.client(box.base_url, box.api_key)
        numbers = sdk.phone_numbers.list()    # runs in the SDK's venv, parsed by the SDK
        assert numbers[0].number == "+18335794607"

Each SDK version gets its own venv (`inkbox==0.4.12` speaks 2026-06,
`inkbox==0.7.20` speaks 2026-10: they cannot share one), made with the
standard `venv` module and this environment's pip, from PyPI, under
`$INKBOX_SYNC_SDK_CACHE` or `~/.cache/inkbox-sync-tests/`, keyed by SDK and
Python version; a lock file makes concurrent test runs build it once. The
SDK runs in a subprocess (`sdk_driver.py`): every answer is parsed by the SDK
itself, and what it returns comes back as JSON with attribute access
(`Obj`); an SDK exception comes back as `SdkError`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO, Any, Self

DRIVER = Path(__file__).with_name("sdk_driver.py")
CACHE_ENV = "INKBOX_SYNC_SDK_CACHE"


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "inkbox-sync-tests")


def sdk_python(version: str) -> Path:
    """The interpreter of a venv holding exactly `inkbox==version` (built if missing)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    name = f"sdk-{version}-py{sys.version_info.major}.{sys.version_info.minor}"
    env = root / name
    python = env / "bin" / "python"
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it right now
        if _has_sdk(python, version):
            return python
        building = root / f".{name}.{os.getpid()}.building"
        shutil.rmtree(building, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", building], check=True)
        install = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "--python", building / "bin" / "python"),
                *("install", "--quiet", "--disable-pip-version-check", f"inkbox=={version}"),
            ],
            capture_output=True,
            text=True,
        )
        if install.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError(
                f"could not install inkbox=={version} from PyPI into its own venv "
                f"(pip >= 22.3 needed for --python):\n{install.stdout}{install.stderr}"
            )
        shutil.rmtree(env, ignore_errors=True)
        building.rename(env)
    if not _has_sdk(python, version):
        raise RuntimeError(f"{env} does not hold inkbox=={version} after installing it")
    return python


def _has_sdk(python: Path, version: str) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [python, "-I", "-c", "import importlib.metadata as m, inkbox; print(m.version('inkbox'))"],
        capture_output=True,
        text=True,
    )
    return probe.returncode == 0 and probe.stdout.strip() == version


class SdkError(Exception):
    """What the SDK raised: its class name, and for API errors the status and detail."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['type']}: {error['message']}")
        self.type: str = error["type"]
        self.status_code: int | None = error.get("status_code")
        self.detail: Any = wrap(error.get("detail"))
        self.existing_rule_id: str | None = error.get("existing_rule_id")


class Obj:
    """A JSON object the SDK returned, with attribute access (`rule.direction`)."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return wrap(self._data[name])
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return wrap(self._data[name])

    def __eq__(self, other: object) -> bool:
        return self._data == (other._data if isinstance(other, Obj) else other)

    def __hash__(self) -> int:
        return hash(json.dumps(self._data, sort_keys=True))

    def __repr__(self) -> str:
        return f"Obj({self._data!r})"

    def as_json(self) -> dict[str, Any]:
        return self._data


def wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Obj(value)
    if isinstance(value, list):
        return [wrap(item) for item in value]
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, Obj):
        return value.as_json()
    raise TypeError(f"cannot send {value!r} to the SDK")


class Remote:
    """An attribute path on the SDK's `Inkbox` client; calling it runs the call there."""

    def __init__(self, driver: SdkDriver, spec: dict[str, Any], path: tuple[str, ...] = ()):
        self._driver, self._spec, self._path = driver, spec, path

    def __getattr__(self, name: str) -> Remote:
        return Remote(self._driver, self._spec, (*self._path, name))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._driver.call(self._spec, self._path, args, kwargs)


class SdkDriver:
    """`sdk_driver.py` running on an SDK venv's interpreter, for as long as the context."""

    def __init__(self, python: Path) -> None:
        self.python = python
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        # A clean environment: no INKBOX_* settings, no ~/.inkbox/config, no proxy for loopback.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("INKBOX_")
            and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
        }
        env.update(HOME=str(cache_root()), NO_PROXY="127.0.0.1,localhost")
        self._process = subprocess.Popen(
            [self.python, "-I", "-u", DRIVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        return self

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(15)
            assert self._process.stdout is not None
            self._process.stdout.close()
            self._process = None

    def client(self, base_url: str, api_key: str, *, notices: bool = False) -> Remote:
        """The SDK's `Inkbox(api_key=..., base_url=...)`; with `notices`, each call
        answers `{"data", "notices"}` (`Inkbox.with_response_metadata`)."""
        return Remote(self, {"api_key": api_key, "base_url": base_url, "notices": notices})

    def call(
        self,
        spec: dict[str, Any],
        path: tuple[str, ...],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        if self._process is None:
            raise RuntimeError("the SDK driver is not running")
        request = {
            "client": {"api_key": spec["api_key"], "base_url": spec["base_url"]},
            "call": list(path),
            "args": list(args),
            "kwargs": kwargs,
            "notices": spec["notices"],
        }
        stdin: IO[str] | None = self._process.stdin
        stdout: IO[str] | None = self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(request, default=_unwrap) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the SDK driver exited ({self._process.poll()})")
        reply = json.loads(line)
        if "error" in reply:
            raise SdkError(reply["error"])
        return wrap(reply["ok"])
