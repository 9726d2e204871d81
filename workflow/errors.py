"""Domain errors with stable codes.

The HTTP layer maps each class to one status (see `http_status`); the command line
prints `code: message`. Messages are for people; codes and `details` are for programs.
"""


class DomainError(Exception):
    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, **self.details}


class NotFound(DomainError):
    """Unknown, or outside the caller's scope: the two are deliberately indistinguishable."""

    code = "not_found"
    http_status = 404


class Forbidden(DomainError):
    """The caller's role may never do this."""

    code = "forbidden"
    http_status = 403


class InvalidInput(DomainError):
    """Input failed validation; `errors` maps field → messages."""

    code = "invalid_input"
    http_status = 422

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message, errors=errors or {})
        self.errors = errors or {}


class WrongPassword(InvalidInput):
    """The caller's own password, given to confirm a change (their password), is wrong. Still
    invalid input to the caller; the HTTP layer also counts it against the account's limit of
    wrong passwords (api/security.py, limit_password_checks)."""


class TransitionNotAllowed(DomainError):
    """The trigger cannot fire from the current state (or a guard refused it)."""

    code = "transition_not_allowed"
    http_status = 409

    def __init__(self, message: str, *, state: str, allowed_triggers: list[str], reason: str | None = None):
        super().__init__(message, state=state, allowed_triggers=allowed_triggers, reason=reason)
        self.state = state
        self.allowed_triggers = allowed_triggers
        self.reason = reason


class Conflict(DomainError):
    """The request conflicts with stored data (e.g. a username that exists)."""

    code = "conflict"
    http_status = 409


class StaleVersion(DomainError):
    """The caller's expected version (If-Match) is not the current one."""

    code = "stale_version"
    http_status = 412

    def __init__(self, message: str, *, current_version: int):
        super().__init__(message, current_version=current_version)
        self.current_version = current_version


class DefinitionError(Exception):
    """A workflow definition file is invalid; the message names the file and the problem."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
