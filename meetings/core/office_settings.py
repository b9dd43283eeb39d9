"""The [office] section: the units of the central office that own action items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meetings.core import config
from meetings.core.config import ConfigError


@dataclass(frozen=True)
class OfficeUnit:
    """A unit of the central office that may own action items; mailed when it has an
    e-mail and its items are overdue."""

    name: str
    email: str = ""


@dataclass(frozen=True)
class OfficeSettings:
    units: tuple[OfficeUnit, ...] = ()

    def unit_email(self, name: str) -> str:
        """The e-mail of the unit called `name` (case and spaces ignored), "" if none."""
        wanted = " ".join(name.split()).casefold()
        found = (u.email for u in self.units if " ".join(u.name.split()).casefold() == wanted)
        return next(found, "")


def office_settings(raw: dict[str, dict[str, Any]]) -> OfficeSettings:
    """The units: a list of tables {name, email?}; a name given twice is a mistake."""
    units = config.expect(raw, "office", "units", list)
    found: list[OfficeUnit] = []
    for n, unit in enumerate(units, 1):
        key = f"[office] units #{n}"
        if not isinstance(unit, dict) or not str(unit.get("name", "")).strip():
            raise ConfigError(key, 'expected a table with a name: { name = "Ban Tổ chức" }')
        if set(unit) - {"name", "email"}:
            raise ConfigError(key, "only name and email are known")
        name, email = str(unit["name"]).strip(), str(unit.get("email", "")).strip()
        if email and "@" not in email:
            raise ConfigError(key, f"not an e-mail address: {email!r}")
        if any(u.name.casefold() == name.casefold() for u in found):
            raise ConfigError(key, f"{name!r} is listed twice")
        found.append(OfficeUnit(name, email))
    return OfficeSettings(tuple(found))
