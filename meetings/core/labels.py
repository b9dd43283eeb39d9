"""HTML forms: from posted fields to the API's models, and from errors back to fields.

The pages validate with the same pydantic models as the API, so a rule lives in one
place; this module only translates between form fields and those models, and turns
errors into per-field messages in the page's language.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks a msgid for extraction; it is translated where it is shown."""
    return message
