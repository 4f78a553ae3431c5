"""The API's error codes, read from the source: every ``code="..."`` an app raises.

``manage.py error_codes`` prints the table of docs/api.md ("Error codes"); ``--write`` puts it
there between its markers, and a test fails when the two differ, so the table is complete.
The scan is syntactic: calls with a literal ``code=`` keyword (domain errors, DRF's
``ValidationError``, ``serializers.ValidationError``) and the socket gateway's
``Refusal("code", "detail")``; the meaning is the call's literal message, if it has one.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings

START = "<!-- error-codes:start (manage.py error_codes --write) -->"
END = "<!-- error-codes:end -->"

# Raised by the framework rather than by our code: listed so the table is whole.
FRAMEWORK: dict[str, tuple[int, str]] = {
    "not_authenticated": (401, "No valid access token (missing, expired, or signed out)."),
    "authentication_failed": (401, "The token or credentials were rejected."),
    "token_not_valid": (401, "The token is invalid or expired."),
    "permission_denied": (403, "Signed in, but this role may not do this."),
    "not_found": (404, "No such object for you (someone else's private objects answer this too)."),
    "method_not_allowed": (405, "The path exists; the method does not."),
    "not_acceptable": (406, "The Accept header asks for a format the API does not give."),
    "unsupported_media_type": (415, "The body is not JSON (or multipart on upload endpoints)."),
    "parse_error": (400, "The body is not valid JSON."),
    "throttled": (429, "Too many requests; retry after Retry-After seconds."),
    "invalid": (400, "A field's value is not valid."),
    "required": (400, "A required field is missing."),
    "null": (400, "A field that cannot be null is null."),
    "blank": (400, "A field that cannot be blank is blank."),
    "max_length": (400, "A field is too long."),
    "min_value": (400, "A number is too small."),
    "max_value": (400, "A number is too large."),
    "invalid_choice": (400, "The value is not one of the allowed choices."),
    "error": (500, "An unexpected server error (reported, never with details)."),
}


@dataclass
class Code:
    code: str
    meanings: list[str] = field(default_factory=list)
    where: set[str] = field(default_factory=set)


def _literal(node: ast.AST | None) -> str | None:
    """A string literal, or the literal inside ``_("...")`` / ``gettext("...")``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if (
        isinstance(node, ast.Call)
        and node.args
        and isinstance(node.func, ast.Name)
        and node.func.id in {"_", "gettext"}
    ):
        return _literal(node.args[0])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):  # _("... %(x)s") % {...}
        return _literal(node.left)
    return None


def _scan_file(path: Path, app: str, found: dict[str, Code]) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        code = next((_literal(k.value) for k in node.keywords if k.arg == "code"), None)
        message = _literal(node.args[0]) if node.args else None
        if code is None and isinstance(node.func, ast.Name) and node.func.id == "Refusal" and len(node.args) == 2:
            code, message = _literal(node.args[0]), _literal(node.args[1])
        if not code or not code.replace("_", "").isalnum() or not code.islower():
            continue
        entry = found.setdefault(code, Code(code))
        if message and message not in entry.meanings:
            entry.meanings.append(message)
        entry.where.add(app)


def scan() -> dict[str, Code]:
    base = Path(settings.BASE_DIR)
    found: dict[str, Code] = {}
    for config in apps.get_app_configs():
        root = Path(config.path)
        if root.parent != base:  # the project's own apps, not installed packages
            continue
        for path in sorted(root.rglob("*.py")):
            if {"migrations", "tests", "testing"} & set(path.relative_to(root).parts):
                continue
            _scan_file(path, config.label, found)
    return found


def table() -> str:
    found = scan()
    rows = ["| code | meaning | where |", "|---|---|---|"]
    framework_only = {code: info for code, info in FRAMEWORK.items() if code not in found}
    merged: dict[str, tuple[str, str]] = defaultdict(lambda: ("", ""))
    for code, entry in found.items():
        meaning = " / ".join(m.replace("|", "\\|").replace("\n", " ") for m in entry.meanings[:2])
        if not meaning and code in FRAMEWORK:
            meaning = FRAMEWORK[code][1]
        merged[code] = (meaning or "(see the endpoint's description)", ", ".join(sorted(entry.where)))
    for code, (_status, meaning) in framework_only.items():
        merged[code] = (meaning, "framework")
    for code in sorted(merged):
        meaning, where = merged[code]
        rows.append(f"| `{code}` | {meaning} | {where} |")
    return "\n".join(rows) + "\n"


def write(doc: Path) -> bool:
    """Put the table into ``doc`` between the markers; True when it changed."""
    text = doc.read_text()
    head, _sep, rest = text.partition(START)
    _old, _sep, tail = rest.partition(END)
    new = f"{head}{START}\n{table()}{END}{tail}"
    if new == text:
        return False
    doc.write_text(new)
    return True


def documented(doc: Path) -> str:
    text = doc.read_text()
    return text.partition(START)[2].partition(END)[0].lstrip("\n")
