"""Global options shared by every command, resolved once per invocation.

A global option is accepted before the subcommand (`inkbox-sync --sandbox demo.json
plan examples/`) and after it (`inkbox-sync plan examples/ --sandbox demo.json`).
Each one is one field of `GlobalOptions`, whose metadata is its click declaration:
`global_options` attaches them all, as `GlobalOption`s, to the root group and to
every command that takes them, and each occurrence on the command line is folded
into one dictionary in `ctx.meta` (shared by the whole invocation), which
`get_options` turns into `GlobalOptions`. Adding a global option is adding a field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from inkbox_sync.cli.output import protect, use_color
from inkbox_sync.client.versions import API_VERSIONS, AUTO
from inkbox_sync.errors import ConfigError
from inkbox_sync.redact import redact_url

DEFAULT_BASE_URL = "https://inkbox.ai"
DEFAULT_CONCURRENCY = 8
CONFIG_PATH = Path.home() / ".inkbox" / "config"


@dataclass(frozen=True)
class Endpoint:
    """Where the API is and the key to speak to it with. Never print `api_key`."""

    base_url: str
    api_key: str
    #: How outputs name where live state came from; never holds a secret.
    label: str = ""

    def __repr__(self) -> str:  # the key must never reach a log line or traceback
        return f"Endpoint(base_url={redact_url(self.base_url)!r}, api_key='***')"

    @property
    def source(self) -> str:
        return self.label or redact_url(self.base_url)


def _click(*decls: str, **attrs: Any) -> dict[str, Any]:
    """The metadata that makes a field of GlobalOptions a click option: `decls` and
    `attrs` as click.option takes them (the name and the default are the field's)."""
    return {"option": (decls, attrs)}


@dataclass(frozen=True)
class GlobalOptions:
    """The global options of one invocation; each field is the option of the same name."""

    api_key: str | None = field(
        default=None,
        metadata=_click(
            "--api-key",
            envvar="INKBOX_API_KEY",
            metavar="KEY",
            help="Inkbox API key [env INKBOX_API_KEY, then ~/.inkbox/config]. Never printed.",
        ),
    )
    base_url: str | None = field(
        default=None,
        metadata=_click(
            "--base-url",
            envvar="INKBOX_BASE_URL",
            metavar="URL",
            help="API base URL [env INKBOX_BASE_URL, then ~/.inkbox/config; "
            "default https://inkbox.ai].",
        ),
    )
    sandbox: Path | None = field(
        default=None,
        metadata=_click(
            "--sandbox",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="Run against an embedded local sandbox whose state lives in FILE "
            "(created with a demo organisation if missing). Nothing leaves this machine.",
        ),
    )
    api_version: str = field(
        default=AUTO,
        metadata=_click(
            "--api-version",
            type=click.Choice([*API_VERSIONS, AUTO]),
            show_default=True,
            help="The Inkbox API version to speak: auto detects it from what the API "
            "answers (every plan names it). With --sandbox FILE also the one the embedded "
            "sandbox speaks (auto: 2026-10).",
        ),
    )
    concurrency: int = field(
        default=DEFAULT_CONCURRENCY,
        metadata=_click(
            "--concurrency",
            type=click.IntRange(1, 64),
            show_default=True,
            help="Most API requests in flight at once.",
        ),
    )
    no_color: bool = field(
        default=False,
        metadata=_click(
            "--no-color", is_flag=True, envvar="NO_COLOR", help="Plain text output [env NO_COLOR]."
        ),
    )
    verbose: int = field(
        default=0,
        metadata=_click(
            "-v", "--verbose", count=True, help="More detail on stderr (-vv: every request)."
        ),
    )

    @property
    def color(self) -> bool:
        return not self.no_color

    def __repr__(self) -> str:  # the key never reaches a repr, traceback or log line
        return (
            f"GlobalOptions(api_key={'***' if self.api_key else None}, "
            f"base_url={redact_url(self.base_url) if self.base_url else None!r}, "
            f"sandbox={self.sandbox!r}, concurrency={self.concurrency}, "
            f"color={self.color}, verbose={self.verbose}, api_version={self.api_version!r})"
        )

    @contextmanager
    def endpoint(self) -> Iterator[Endpoint]:
        """The API to talk to: an embedded sandbox for `--sandbox FILE`, else the real one.

        Resolution order, as the official SDK: option, environment
        (INKBOX_API_KEY / INKBOX_BASE_URL, already folded into the options by
        click), then ~/.inkbox/config, which is read only when one of the two
        is still missing.
        """
        if self.sandbox is not None:
            from inkbox_sync.sandbox.embedded import EmbeddedSandbox

            # design section 2: the embedded sandbox speaks 2026-10 unless told 2026-06.
            version = "2026-06" if self.api_version == "2026-06" else "2026-10"
            with EmbeddedSandbox(self.sandbox, api_version=version) as box:
                protect(box.api_key)
                label = f"the embedded sandbox ({self.sandbox})"
                yield Endpoint(base_url=box.base_url, api_key=box.api_key, label=label)
            return
        api_key, base_url = self.api_key, self.base_url
        file_cfg = read_config_file(CONFIG_PATH) if not (api_key and base_url) else {}
        api_key = api_key or file_cfg.get("api_key")
        base_url = base_url or file_cfg.get("base_url") or DEFAULT_BASE_URL
        if not api_key:
            raise ConfigError(
                "no API key: pass --api-key, set INKBOX_API_KEY, or add 'api_key = ...' "
                f"to {CONFIG_PATH} ({_config_state(file_cfg)}); "
                "or try inkbox-sync locally with --sandbox FILE"
            )
        protect(api_key)
        yield Endpoint(base_url=base_url, api_key=api_key)


def _config_state(file_cfg: dict[str, str]) -> str:
    if "api_key" in file_cfg:
        return "its api_key line has no value"
    return "it has no api_key line" if CONFIG_PATH.exists() else "it does not exist"


# --- the config file ---------------------------------------------------------------

#: `api_key: x` and the like: a key, then a separator that is not `=`.
_WRONG_SEPARATOR = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)\s*[:\s]")


def read_config_file(path: Path) -> dict[str, str]:
    """`key = value` lines, '#' comments, quotes stripped: the SDK's format.

    A missing file is an empty one. A file that exists but cannot be read or
    has a line that is not `key = value` is a ConfigError naming the file and
    the line (the SDK silently skips such lines, which turns a typo into a
    puzzling "no API key"). A line's value is never shown: it may be the key.
    """
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{bad_line}: the config file is not UTF-8 text") from None
    out: dict[str, str] = {}
    problems: list[str] = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        key = key.strip()
        if equals and key:
            out[key] = value.strip().strip("\"'")
            continue
        problems.append(f"{path}:{number}: {_line_problem(line, bool(equals))}")
    if problems:
        intro = "the config file cannot be parsed (one `key = value` per line, # for comments):"
        raise ConfigError("\n  ".join([intro, *problems]))
    return out


def _line_problem(line: str, has_equals: bool) -> str:
    if has_equals:
        return "nothing before '='; write `key = value`"
    wrong = _WRONG_SEPARATOR.match(line)
    if wrong:
        key = wrong.group(1)
        return f"expected `{key} = ...`, found `{key}` without '='"
    return "expected `key = value`, found a line without '='"


# --- global options ------------------------------------------------------------------

_META_KEY = "inkbox_sync.global_options"


class GlobalOption(click.Option):
    """An option accepted before or after the subcommand; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, expose_value=False, callback=_collect, **kwargs)


def _collect(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Fold one occurrence into the invocation's values: the root takes everything
    (defaults and environment included), a subcommand only what its own command
    line says, which wins; `-v` given in both places adds up."""
    assert param.name is not None
    if param.name == "api_key":
        protect(value)  # scrubbed from every output from now on, wherever it was given
    values: dict[str, Any] = ctx.meta.setdefault(_META_KEY, {})
    if ctx.parent is None:
        values[param.name] = value
    elif ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE:
        counted = isinstance(param, click.Option) and param.count
        values[param.name] = (values.get(param.name) or 0) + value if counted else value
    return value


F = TypeVar("F", bound=Callable[..., Any])


def global_options(f: F) -> F:
    """Attach every global option to a command (or the root group) being declared."""
    for spec in reversed(fields(GlobalOptions)):
        decls, attrs = spec.metadata["option"]
        click.option(*decls, spec.name, cls=GlobalOption, default=spec.default, **attrs)(f)
    return f


def get_options(ctx: click.Context) -> GlobalOptions:
    """The invocation's global options, wherever on the command line they were given."""
    values = ctx.meta.get(_META_KEY, {})
    options = GlobalOptions(**values)
    use_color(options.color)
    return options


class SubCommand(click.Command):
    """A subcommand whose --help lists the global options in a section of their own."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        own: list[tuple[str, str]] = []
        shared: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is not None:
                (shared if isinstance(param, GlobalOption) else own).append(record)
        if own:
            with formatter.section("Options"):
                formatter.write_dl(own)
        if shared:
            with formatter.section("Global options (also accepted before the command)"):
                formatter.write_dl(shared)
