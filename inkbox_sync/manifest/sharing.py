"""A load of the manifests begun early, its composing shared with a forked child.

`ManifestLoad(paths, share=True)` finds the files and, where a fork is sound
(`inkbox_sync.manifest.forked`), forks a child that composes the later half
at once, on another core; `finish()`, often in another thread, composes the
first half and merges everything (`inkbox_sync.manifest.loader`). The result
is the same either way, diagnostics in file order included.

This module stays light (no PyYAML, no pydantic): plan and apply make the
load before their first request, and the loader's imports happen in
`finish`, in the loading thread, and in the child, while the first requests
are in flight.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from inkbox_sync.errors import Diagnostic
from inkbox_sync.manifest.files import OnNamed, manifest_files
from inkbox_sync.manifest.forked import Forked

if TYPE_CHECKING:
    from inkbox_sync.manifest.loader import ManifestSet

__all__ = ["ManifestLoad"]

#: Below this much YAML, forking costs more than it saves.
SHARE_FROM_BYTES: Final = 512 * 1024

#: What the child sends back per file: its document pickled as composed (or None
#: when it could not be read or composed), and the problems doing so found.
ChildResult = tuple[bytes | None, list[Diagnostic]]
#: A file's holders that manage their policy (numbers, agent handles), as noted.
Names = tuple[list[str], list[str]]
OnNote = Callable[[Names], None]


class ManifestLoad:
    """A load of the manifests at `paths`, begun when made, ended by `finish`."""

    SHARE_FROM_BYTES: Final = SHARE_FROM_BYTES

    def __init__(
        self,
        paths: Sequence[Path | str],
        env: Mapping[str, str] | None = None,
        *,
        share: bool = False,
    ) -> None:
        self._env = os.environ if env is None else env
        self._files, self._diagnostics = manifest_files(paths)
        self._own = len(self._files)  # how many of the files this process composes
        self._child: Forked[tuple[str, Path], ChildResult] | None = None
        if share:
            self._share()

    @property
    def shared(self) -> bool:
        """Whether a child composes part of the files."""
        return self._child is not None

    def _share(self) -> None:
        sizes = [_size(path) for _, path in self._files]
        total = sum(sizes)
        if len(self._files) < 2 or total < SHARE_FROM_BYTES:
            return
        half, running = 0, 0
        while running < total / 2:
            running += sizes[half]
            half += 1
        later = self._files[half:]
        if not later:
            return
        env = dict(self._env)
        self._child = Forked.start(later, lambda file, note: _in_child(file, env, note))
        if self._child is not None:
            self._own = half

    def finish(self, on_named: OnNamed | None = None) -> ManifestSet:
        """Validate and merge every file (`loader.load_manifest_set` says what
        `on_named` hears); ManifestError with every diagnostic when anything is wrong."""
        from inkbox_sync.manifest.loader import finish_load

        return finish_load(
            self._files, self._diagnostics, self._env, on_named, self._own, self._child
        )

    def close(self) -> None:
        """Give up on the load: the child, if still running, is stopped."""
        if self._child is not None:
            self._child.close()


def _in_child(file: tuple[str, Path], env: Mapping[str, str], note: OnNote) -> ChildResult:
    from inkbox_sync.manifest.loader import compose_in_child

    return compose_in_child(file, env, note)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reported when it is read
