"""The envelope of an inbound e-mail (key, sender, subject, date, what it answers, where
it was delivered): one rule for the full reader (`parse`) and the lean one (`fast`),
from the same index of raw headers."""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from notify.inbound.mime import (
    MESSAGE_IDS,
    Headers,
    address_of,
    first_address,
    header,
    header_values,
)
from notify.inbound.parsed import Envelope

#: A Message-ID longer than the key column is not used as the key (digest instead).
MAX_KEY = 250


def envelope_of(message: Headers, raw: bytes) -> Envelope:
    """The envelope from the message's headers (`raw` for the digest key)."""
    ids = MESSAGE_IDS.findall(header(message, "message-id"))
    key = ids[0] if ids and len(ids[0]) <= MAX_KEY else digest(raw)
    answers: list[str] = []
    references = MESSAGE_IDS.findall(header(message, "references"))
    for found in MESSAGE_IDS.findall(header(message, "in-reply-to")) + references[::-1]:
        if found not in answers:
            answers.append(found)
    delivered = ""
    for name in ("delivered-to", "x-original-to", "envelope-to", "to"):
        values = header_values(message, name)
        if values:
            delivered = address_of(values[0] if "," not in values[0] else first_address(values[0]))
            if delivered:
                break
    from_ = header_values(message, "from")
    return Envelope(
        key=key,
        sender=address_of(from_[0]) if from_ else "",
        subject=header(message, "subject")[:1000],
        date=_date(header(message, "date")),
        answers=tuple(answers),
        delivered_to=delivered,
    )


def digest(raw: bytes) -> str:
    """The key of a message without a usable Message-ID."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = _common_date(value)
        if moment is None:
            moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": UTC, origin unknown (RFC 5322)
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


#: A date as mail clients write it ("Tue, 16 Apr 2030 02:14:31 +0000", maybe a zone
#: comment after): read by one pattern, to what the stdlib's lenient parser gives.
_COMMON_DATE = re.compile(
    r"(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) ([1-9]\d{3}) (\d\d):(\d\d):(\d\d) ([+-])(\d{4})"
    r"(?: \([^()]*\))?"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}


def _common_date(value: str) -> datetime | None:
    """`parsedate_to_datetime(value)` for the common form, 5 times cheaper; None for
    any other form (the stdlib then reads it). Raises ValueError where it does (a
    day or an hour that does not exist)."""
    found = _COMMON_DATE.fullmatch(value)
    if found is None:
        return None
    day, month_name, year, hour, minute, second, sign, offset = found.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        return None
    moment = (int(year), month, int(day), int(hour), int(minute), int(second))
    if sign == "-" and offset == "0000":  # no zone
        return datetime(*moment)
    return datetime(*moment, tzinfo=_zone(sign, offset))


@functools.lru_cache(maxsize=64)
def _zone(sign: str, offset: str) -> timezone:
    hours, minutes = divmod(int(offset), 100)
    seconds = hours * 3600 + minutes * 60
    return timezone(timedelta(seconds=-seconds if sign == "-" else seconds))
