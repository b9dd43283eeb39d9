"""Domain errors: raised by domain functions, mapped to HTTP by one middleware."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True)
class FieldProblem:
    """One invalid value: the field (dotted path or column), a message, and for imports the line."""

    field: str
    message: str
    line: int | None = None
    #: The message as a msgid with `{…}` placeholders and their values, when it is built
    #: from one: pages say it in the reader's language (meetings.core.problems).
    template: str | None = None
    params: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(
        cls, field: str, template: str, line: int | None = None, **params: object
    ) -> FieldProblem:
        """A problem said by a msgid: English (for the API) and translatable (for pages)."""
        return cls(field, template.format(**params), line, template, tuple(params.items()))

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"field": self.field, "message": self.message}
        if self.line is not None:
            found["line"] = self.line
        return found


class DomainError(Exception):
    """Base of the errors a domain function may raise on purpose."""

    code = "error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        #: The message as a msgid with `{…}` placeholders and their values (see `of`).
        self.template: str | None = None
        self.params: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, template: str, /, **params: object) -> Self:
        """An error said by a msgid: English (for the API) and translatable (for pages)."""
        error = cls(template.format(**params))
        error.template, error.params = template, tuple(params.items())
        return error


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    """A stale `version`, or a unique value already taken."""

    code = "conflict"
    status = 409

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @classmethod
    def at(cls, field: str, template: str, /, **params: object) -> Conflict:
        """A conflict on `field`, said by a msgid (see `DomainError.of`)."""
        error = cls.of(template, **params)
        error.field = field
        return error


class Invalid(DomainError):
    """Validation failed; `problems` names every field (and line) at fault."""

    code = "validation_error"
    status = 422

    def __init__(self, message: str, problems: list[FieldProblem]) -> None:
        super().__init__(message)
        self.problems = problems


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class TooLarge(DomainError):
    code = "too_large"
    status = 413
