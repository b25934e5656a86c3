"""The 2026-10 state document, and the migration of a 2026-06 one into it.

    {"api_version": "2026-10", "identities": [...], "numbers": [...],
     "rules": [...], "rule_aliases": [{"id": alias, "rule_id": id}, ...]}

Objects are in 2026-10's JSON shapes. The identity holds the phone modes
(`phone_inbound_filter_mode`, `phone_outbound_filter_mode`); everything
derived from them is recomputed on load and on every write, never trusted
from the document: the identity's shared `phone_filter_mode` and
`imessage_filter_mode` (`shared_mode`), and each number's read-only mirrors
(`filter_mode`, `inbound_filter_mode`, `outbound_filter_mode`). Rules belong
to identities and carry a `direction`; for one identity and target each side
is covered by at most one rule, and two one-way rules with the same action
and status would have been consolidated into one `both` rule, so a document
holding either is refused. `rule_aliases` are the ids of rules consolidated
into others, which keep addressing them.
"""

from __future__ import annotations

import re
from typing import Final

from inkbox_sync.sandbox.document import (
    VERSION_KEY,
    Checker,
    Document,
    DocumentError,
    check_identities,
    check_numbers,
    check_rule,
    is_e164,
    one_of,
    plain_rule,
)
from inkbox_sync.sandbox.validation import (
    FILTER_MODES,
    JsonObj,
    error,
)

VERSION: Final = "2026-10"
SECTIONS: Final = ("identities", "numbers", "rules", "rule_aliases")
CALL_ACTIONS: Final = ("auto_reject", "auto_accept", "webhook", "hosted_agent", "forward")
FORWARDING_TYPES: Final = ("phone", "sip")
DIRECTIONS: Final = ("inbound", "outbound", "both")
SIDES: Final = ("inbound", "outbound")  # in the order conflicts are reported
SIDES_OF: Final = {"inbound": ("inbound",), "outbound": ("outbound",), "both": SIDES}
RULE_STATUSES: Final = ("active", "paused")
RULE_FIELDS: Final = frozenset(
    (
        "id",
        "agent_identity_id",
        "action",
        "match_type",
        "match_target",
        "direction",
        "status",
        "contact",
        "created_at",
        "updated_at",
    )
)
FORWARDING_FIELDS: Final = (
    "forwarding_target_type",
    "forwarding_phone_number",
    "forwarding_sip_uri",
)
# sip:/sips:, optional user part, a host, optional port, parameters and headers.
_SIP_URI: Final = re.compile(r"sips?:(?:[^@\s/]+@)?([A-Za-z0-9.-]+)(?::[0-9]{1,5})?(?:[;?]\S*)?")
_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_PRIVATE_SUFFIXES: Final = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def direction_of(sides: set[str] | frozenset[str] | tuple[str, ...]) -> str:
    return "both" if len(set(sides)) == 2 else next(iter(sides))


def shared_mode(inbound: str, outbound: str) -> str:
    """What `phone_filter_mode` reports: the common mode when the directions agree,
    and (ASSUMED, the contract) the inbound mode when they differ."""
    return inbound


def with_modes(identity: JsonObj, inbound: str, outbound: str) -> JsonObj:
    """`identity` with these phone modes and the fields derived from them. Phone
    policy also governs iMessage (SDK 0.7.0), so `imessage_filter_mode` is the
    shared phone mode (ASSUMED: the SDK says an imessage_filter_mode write sets
    both directions, and reads it so when they agree)."""
    shared = shared_mode(inbound, outbound)
    return {
        **identity,
        "phone_filter_mode": shared,
        "phone_inbound_filter_mode": inbound,
        "phone_outbound_filter_mode": outbound,
        "imessage_filter_mode": shared,
    }


def with_mirrors(number: JsonObj, identity: JsonObj | None) -> JsonObj:
    """`number` with its read-only mode mirrors taken from its identity (a number
    without one, in the pool, keeps its own)."""
    if identity is None:
        inbound = number.get("inbound_filter_mode") or number.get("filter_mode") or "blacklist"
        outbound = number.get("outbound_filter_mode") or number.get("filter_mode") or "blacklist"
    else:
        inbound = identity["phone_inbound_filter_mode"]
        outbound = identity["phone_outbound_filter_mode"]
    return {
        **number,
        "filter_mode": shared_mode(inbound, outbound),
        "inbound_filter_mode": inbound,
        "outbound_filter_mode": outbound,
    }


def sip_uri_problem(value: str) -> str | None:
    """Why `value` is not a `sip:`/`sips:` URI on a public DNS host, if it is not."""
    match = _SIP_URI.fullmatch(value)
    if match is None:
        return "Input should be a sip: or sips: URI"
    host = match.group(1).lower().rstrip(".")
    labels = host.split(".")
    if (
        len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or not labels[-1].isalpha()
        or host.endswith(_PRIVATE_SUFFIXES)
    ):
        return (
            "The SIP URI's host should be a public DNS hostname "
            "(not an IP address, localhost or a .local name)"
        )
    return None


def routing_problems(num: JsonObj) -> list[tuple[str, str]]:
    """`(field, message)` for each incoherence of a number's routing (ASSUMED: 422)."""
    problems: list[tuple[str, str]] = []
    action = num.get("incoming_call_action")
    kind = num.get("forwarding_target_type")
    phone, sip = num.get("forwarding_phone_number"), num.get("forwarding_sip_uri")
    if action == "auto_accept" and not num.get("client_websocket_url"):
        problems.append(("incoming_call_action", "'auto_accept' needs a client_websocket_url"))
    if action == "webhook" and not num.get("incoming_call_webhook_url"):
        problems.append(("incoming_call_action", "'webhook' needs an incoming_call_webhook_url"))
    if action == "forward" and kind is None:
        problems.append(
            (
                "incoming_call_action",
                "'forward' needs a forwarding target: forwarding_target_type 'phone' with "
                "forwarding_phone_number, or 'sip' with forwarding_sip_uri",
            )
        )
    # "Needs" and "takes no" apart: a missing target and a second one are fixed differently.
    if kind == "phone" and not phone:
        problems.append(
            ("forwarding_target_type", "'phone' forwarding needs forwarding_phone_number")
        )
    elif kind == "phone" and sip is not None:
        problems.append(
            ("forwarding_target_type", "'phone' forwarding takes no forwarding_sip_uri")
        )
    if kind == "sip" and not sip:
        problems.append(("forwarding_target_type", "'sip' forwarding needs forwarding_sip_uri"))
    elif kind == "sip" and phone is not None:
        problems.append(
            ("forwarding_target_type", "'sip' forwarding takes no forwarding_phone_number")
        )
    if kind is None and (phone is not None or sip is not None):
        problems.append(
            (
                "forwarding_target_type",
                "forwarding_target_type is required when a forwarding target is set",
            )
        )
    return problems


# -- the document ---------------------------------------------------------------


def normalize(raw: object, root: str = "body") -> Document:
    """A checked copy of `raw` with defaults filled in; raises DocumentError."""
    check = Checker(root)
    sections = check.sections(raw, SECTIONS, VERSION)
    identities = _identities(check, sections["identities"])
    numbers = _numbers(check, sections["numbers"], identities)
    rules = _rules(check, sections["rules"], identities)
    aliases = _aliases(check, sections["rule_aliases"], rules)
    check.raise_if_failed()
    return {
        VERSION_KEY: VERSION,
        "identities": identities,
        "numbers": numbers,
        "rules": rules,
        "rule_aliases": aliases,
    }


def _identities(check: Checker, items: list[JsonObj]) -> list[JsonObj]:
    # A missing directional mode means the shared phone mode; a missing shared one
    # means imessage_filter_mode, else blacklist (the SDK's reading), before the
    # shared checks fill imessage_filter_mode's default.
    fallbacks = [i.get("phone_filter_mode") or i.get("imessage_filter_mode") for i in items]
    items = check_identities(check, items)
    out: list[JsonObj] = []
    for i, (ident, fallback) in enumerate(zip(items, fallbacks, strict=True)):
        loc: list[str | int] = ["identities", i]
        modes = []
        for key in ("phone_inbound_filter_mode", "phone_outbound_filter_mode"):
            ident[key] = ident.get(key) or fallback or "blacklist"
            check.field(ident, loc, key, one_of(*FILTER_MODES), f"Input should be {FILTER_MODES}")
            modes.append(ident[key])
        out.append(with_modes(ident, modes[0], modes[1]))
    return out


def _numbers(check: Checker, items: list[JsonObj], identities: list[JsonObj]) -> list[JsonObj]:
    items = check_numbers(check, items, identities, call_actions=CALL_ACTIONS)
    by_id = {ident["id"]: ident for ident in identities}
    out: list[JsonObj] = []
    for i, num in enumerate(items):
        loc: list[str | int] = ["numbers", i]
        check.field(num, loc, "country", _country, "Input should be a country code", lambda: "US")
        for key in FORWARDING_FIELDS:
            num.setdefault(key, None)
        kind, phone, sip = (num[key] for key in FORWARDING_FIELDS)
        if kind is not None and kind not in FORWARDING_TYPES:
            check.fail([*loc, "forwarding_target_type"], "Input should be 'phone', 'sip' or null")
        if phone is not None and not is_e164(phone):
            check.fail([*loc, "forwarding_phone_number"], "Input should be an E.164 number")
        if sip is not None:
            problem = sip_uri_problem(sip) if isinstance(sip, str) else "Input should be a string"
            if problem:
                check.fail([*loc, "forwarding_sip_uri"], problem)
        for field, message in routing_problems(num):
            check.fail([*loc, field], message)
        owner = by_id.get(num["agent_identity_id"])
        if owner is None:  # a pool number's mirrors are its own
            for key in ("filter_mode", "inbound_filter_mode", "outbound_filter_mode"):
                if num.get(key) not in (None, *FILTER_MODES):
                    check.fail([*loc, key], f"Input should be one of {FILTER_MODES}")
        out.append(with_mirrors(num, owner))
    return out


def _country(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Z]{2}", value) is not None


def _rules(check: Checker, items: list[JsonObj], identities: list[JsonObj]) -> list[JsonObj]:
    identity_ids = {str(ident["id"]) for ident in identities}
    covered: dict[tuple[str, str, str, str], JsonObj] = {}
    ids: set[str] = set()
    kept: list[JsonObj] = []
    for i, rule in enumerate(items):
        loc: list[str | int] = ["rules", i]
        if not _plain_rule(rule, identity_ids) and not _check_rule(check, rule, loc, identity_ids):
            continue  # deleted
        slot = (str(rule.get("agent_identity_id")), str(rule.get("match_type")))
        for side in SIDES_OF.get(rule.get("direction", "both"), ()):
            key = (*slot, str(rule.get("match_target")), side)
            other = covered.get(key)
            if other is not None:
                check.fail(
                    [*loc, "direction"],
                    f"The {side} side of this target is already covered by rule {other['id']}",
                )
            covered[key] = rule
        check.unique(ids, rule["id"], [*loc, "id"], "id")
        kept.append(rule)
    for i, rule in enumerate(kept):
        if rule.get("direction") != "inbound":
            continue
        slot = (str(rule.get("agent_identity_id")), str(rule.get("match_type")))
        other = covered.get((*slot, str(rule.get("match_target")), "outbound"))
        if (
            other is not None
            and other.get("direction") == "outbound"
            and (other.get("action"), other.get("status"))
            == (rule.get("action"), rule.get("status"))
        ):
            check.fail(
                ["rules", i, "direction"],
                f"This rule and rule {other['id']} are one 'both' rule in 2026-10: one-way "
                "rules of one target with the same action and status are consolidated",
            )
    return kept


def _plain_rule(rule: JsonObj, identity_ids: set[str]) -> bool:
    return (
        plain_rule(rule, RULE_FIELDS, "agent_identity_id", identity_ids)
        and rule["direction"] in DIRECTIONS
        and rule["contact"] is None
    )


def _check_rule(
    check: Checker, rule: JsonObj, loc: list[str | int], identity_ids: set[str]
) -> bool:
    if not check_rule(check, rule, loc, "agent_identity_id", identity_ids):
        return False
    check.field(
        rule,
        loc,
        "direction",
        one_of(*DIRECTIONS),
        "Input should be 'inbound', 'outbound' or 'both'",
        lambda: "both",
    )
    rule.setdefault("contact", None)
    if rule["contact"] is not None and not isinstance(rule["contact"], dict):
        check.fail([*loc, "contact"], "Input should be an object or null")
    return True


def _aliases(check: Checker, items: list[JsonObj], rules: list[JsonObj]) -> list[JsonObj]:
    rule_ids = {str(rule.get("id")) for rule in rules}
    seen: set[str] = set()
    for i, alias in enumerate(items):
        loc: list[str | int] = ["rule_aliases", i]
        check.uuid_field(alias, loc, "id", fill=False)
        check.uuid_field(alias, loc, "rule_id", fill=False)
        if alias.keys() - {"id", "rule_id"}:
            check.fail(loc, "An alias is exactly {id, rule_id}")
        if alias.get("rule_id") not in rule_ids:
            check.fail([*loc, "rule_id"], "No rule has this id")
        if alias.get("id") in rule_ids:
            check.fail([*loc, "id"], "A rule has this id: it cannot also be an alias")
        check.unique(seen, alias.get("id"), [*loc, "id"], "alias")
    return items


# -- migration --------------------------------------------------------------------


def from_2026_06(old: Document) -> Document:
    """A checked 2026-06 document as Inkbox moved it (SDK 0.4.14): each number's rules
    move to its identity as `both` rules (ids, timestamps and paused status kept), and
    the number's `filter_mode` becomes the identity's phone mode in both directions."""
    owner = {n["id"]: n["agent_identity_id"] for n in old["numbers"]}
    mode = {n["agent_identity_id"]: n["filter_mode"] for n in old["numbers"]}
    orphans = [
        error(
            ["state", "rules", i, "phone_number_id"],
            "this rule's number has no agent identity: its rule has nowhere to move in 2026-10",
            "value_error",
        )
        for i, rule in enumerate(old["rules"])
        if owner.get(rule["phone_number_id"]) is None
    ]
    if orphans:
        raise DocumentError(orphans)
    identities = []
    for ident in old["identities"]:
        phone = mode.get(ident["id"], ident.get("imessage_filter_mode") or "blacklist")
        identities.append(with_modes(ident, phone, phone))
    numbers = [
        {key: value for key, value in n.items() if key != "filter_mode"} for n in old["numbers"]
    ]
    rules = [
        {
            "id": rule["id"],
            "agent_identity_id": owner[rule["phone_number_id"]],
            "action": rule["action"],
            "match_type": rule["match_type"],
            "match_target": rule["match_target"],
            "direction": "both",
            "status": rule["status"],
            "contact": None,
            "created_at": rule["created_at"],
            "updated_at": rule["updated_at"],
        }
        for rule in old["rules"]
    ]
    return {
        VERSION_KEY: VERSION,
        "identities": identities,
        "numbers": numbers,
        "rules": rules,
        "rule_aliases": [],
    }
