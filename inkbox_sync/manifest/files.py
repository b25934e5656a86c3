"""Which files a set of path arguments names, and reading them as UTF-8 text.

A directory means every `*.yaml` / `*.yml` below it, sorted by path, skipping
hidden files and directories (names starting with "."), so a repository's
`.github/workflows/*.yml` beside the manifests is never read as one. A file
named explicitly is always read, whatever its name.

Paths are shown as the user gave them (relative stays relative), so
diagnostics can be pasted into an editor's "go to file".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Final

from inkbox_sync.errors import Diagnostic

SUFFIXES: Final = (".yaml", ".yml")

#: Told, file by file as each validates, the holders it declares whose policy
#: (rules, a filter mode or `expect:`) it manages: (E.164 numbers, agent handles).
#: Here, not in the loader, so that the workflow can name it without importing
#: PyYAML and pydantic.
OnNamed = Callable[[Iterable[str], Iterable[str]], None]


#: A manifest file as read: (shown name, its text or None, the problems reading it).
ReadFile = tuple[str, str | None, list[Diagnostic]]


def read_manifests(paths: Sequence[Path | str]) -> tuple[list[ReadFile], list[Diagnostic]]:
    """Every manifest file the arguments name, read (`manifest_files`, `read_text`),
    and the problems finding them."""
    files, problems = manifest_files(paths)
    return [(shown, *read_text(shown, path)) for shown, path in files], problems


def manifest_files(paths: Sequence[Path | str]) -> tuple[list[tuple[str, Path]], list[Diagnostic]]:
    """(shown name, path) of every manifest file the arguments name, each once, in order."""
    found: list[tuple[str, Path]] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for given in paths:
        path = Path(given)
        shown = str(given)
        if path.is_dir():
            below = _walk(path)
            if not below:
                problems.append(
                    Diagnostic(
                        shown,
                        1,
                        1,
                        "no manifest files in this directory (*.yaml, *.yml; hidden files and "
                        "directories are skipped)",
                    )
                )
            candidates = [(str(path / rel), path / rel) for rel in below]
        elif path.exists():
            candidates = [(shown, path)]
        else:
            problems.append(Diagnostic(shown, 1, 1, "no such file or directory"))
            continue
        for name, file in candidates:
            real = os.path.realpath(file)
            if real not in seen:  # `validate dir dir/a.yaml` reads a.yaml once
                seen.add(real)
                found.append((name, file))
    return found, problems


def _walk(top: Path) -> list[Path]:
    """Manifest files below `top`, relative to it, sorted component by component."""
    found: list[tuple[str, ...]] = []
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = Path(root).relative_to(top).parts
        found.extend(
            (*rel, name) for name in files if name.endswith(SUFFIXES) and not name.startswith(".")
        )
    return [Path(*parts) for parts in sorted(found)]


def read_text(shown: str, path: Path) -> tuple[str | None, list[Diagnostic]]:
    """The file as text; UTF-8 only (a leading BOM is allowed), else a diagnostic at the bad byte."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Diagnostic(shown, 1, 1, f"cannot read the file: {exc.strerror or exc}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        return None, [
            Diagnostic(
                shown,
                line,
                column,
                f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x} cannot be decoded); "
                "save it as UTF-8",
            )
        ]
    return text.removeprefix("\ufeff"), []
