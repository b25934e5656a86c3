"""The API versions the sandbox speaks, and moving state documents between them.

One entry per version: its state document's checker, demo organisation,
store and app. A third version is one more package (`v2026_06`, `v2026_10`
are the pattern) and one more entry here. Versions are in release order: a
document of an older version loads into a newer sandbox by migrating it one
version at a time, as Inkbox moved its own data; never the other way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from inkbox_sync.sandbox import v2026_06, v2026_10
from inkbox_sync.sandbox.app import SandboxApp
from inkbox_sync.sandbox.document import Document, DocumentError, document_version
from inkbox_sync.sandbox.store import Journal, Store
from inkbox_sync.sandbox.validation import error


@dataclass(frozen=True, slots=True)
class ApiVersion:
    name: str
    normalize: Callable[[object, str], Document]  # check a document in this version's shapes
    demo: Callable[[], Document]
    store: Callable[[Document, Journal | None], Store]
    app: type[SandboxApp[Any]]
    #: The previous version's (checked) document in this version's shapes, unchecked.
    migrate: Callable[[Document], Document] | None = None


VERSIONS: Final = {
    version.name: version
    for version in (
        ApiVersion(
            v2026_06.VERSION,
            v2026_06.normalize,
            v2026_06.demo_document,
            v2026_06.NumberRuleStore,
            v2026_06.App,
        ),
        ApiVersion(
            v2026_10.VERSION,
            v2026_10.normalize,
            v2026_10.demo_document,
            v2026_10.IdentityRuleStore,
            v2026_10.App,
            migrate=v2026_10.from_2026_06,
        ),
    )
}
ORDER: Final = tuple(VERSIONS)  # release order
DEFAULT_API_VERSION: Final = "2026-10"  # what the live API speaks


def check_document(raw: object, root: str = "body") -> Document:
    """`raw` checked in the version it declares (no migration)."""
    return VERSIONS[_declared(raw, root)].normalize(raw, root)


def load_document(raw: object, version: str, root: str = "body") -> tuple[Document, str | None]:
    """`raw` as a document of `version`, migrated if it is older; and the version it
    was migrated from (None if it was already `version`). A newer one is refused."""
    return upgrade(check_document(raw, root), version, root)


def upgrade(doc: Document, version: str, root: str = "body") -> tuple[Document, str | None]:
    """A checked document (`check_document`) as one of `version`; see `load_document`."""
    declared = _declared(doc, root)
    if declared == version:
        return doc, None
    if ORDER.index(declared) > ORDER.index(version):
        raise DocumentError(
            [
                error(
                    [root, "api_version"],
                    f"a {declared} state cannot be served as {version}: "
                    "Inkbox moved its data forward only",
                    "value_error",
                )
            ]
        )
    for step in ORDER[ORDER.index(declared) + 1 : ORDER.index(version) + 1]:
        target = VERSIONS[step]
        assert target.migrate is not None  # every version after the first migrates
        doc = target.normalize(target.migrate(doc), root)
    return doc, declared


def _declared(raw: object, root: str) -> str:
    declared = document_version(raw)
    if not isinstance(declared, str) or declared not in VERSIONS:
        raise DocumentError(
            [
                error(
                    [root, "api_version"],
                    f"Input should be one of {', '.join(repr(v) for v in ORDER)}",
                    "enum",
                )
            ]
        )
    return declared
