"""One error hierarchy for the whole package.

Every error promptyard raises descends from :class:`PromptyardError`. Vendor and
library errors are translated once, at the adapter boundary, with
``raise ... from exc``. HTTP status codes are assigned in one place only:
``promptyard.server.errors``.

::

    PromptyardError
    ├── ConfigError
    ├── AuthError
    │   └── PermissionDenied
    ├── PromptError
    │   ├── PromptNotFound
    │   ├── PromptFileError          (parse / front matter / template syntax)
    │   │   └── PromptFilesError     (every bad file of a folder at once)
    │   ├── UnsafeTemplateError      (sandbox violation)
    │   ├── VersionConflict          (changed content under an existing version)
    │   ├── ReviewError              (review flow violations)
    │   └── RenderError
    │       └── VariableValidationError   (every problem at once)
    ├── ProviderError
    │   ├── RateLimited(retry_after)
    │   ├── ProviderUnavailable
    │   │   └── LocalRuntimeBroken   (llama.cpp crashed, hung or failed in the start-up probe)
    │   ├── ProviderTimeout
    │   ├── BadRequest
    │   └── UnknownModel
    ├── OutputValidationError
    ├── RateLimitExceeded(retry_after)   (our own limits, not the provider's)
    ├── BudgetExceeded
    ├── GuardBlocked             (an input or output guard with action block triggered: 400)
    ├── NotFound
    ├── InvalidInput
    ├── ExperimentError          (a split conflicts with a running one, or its state forbids the action)
    │   └── EvalGateRefused      (a label's eval gate: no run, or a regression)
    └── StoreError
        └── StoreUnavailable     (vector store unreachable after its retries: 503)
            └── DependencyUnavailable(dependency)   (the database or Redis is down: 503)
"""

from __future__ import annotations

from collections.abc import Sequence


class PromptyardError(Exception):
    """Root of every error promptyard raises."""

    code: str = "promptyard_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class ConfigError(PromptyardError):
    """A setting is missing or invalid."""

    code = "config_error"


class AuthError(PromptyardError):
    """No credentials, or credentials that do not match a key."""

    code = "unauthorized"


class PermissionDenied(AuthError):
    """Valid credentials whose role does not allow the operation."""

    code = "forbidden"


class PromptError(PromptyardError):
    code = "prompt_error"


class PromptNotFound(PromptError):
    """A prompt name, version or label does not exist. Names what does."""

    code = "prompt_not_found"

    def __init__(self, message: str, *, available: Sequence[str] = (), hint: str | None = None) -> None:
        self.available = list(available)
        if self.available and hint is None:
            hint = "available: " + ", ".join(self.available)
        super().__init__(message, hint=hint)


class PromptFileError(PromptError):
    """A prompt file cannot be parsed. Carries the file and line when known."""

    code = "prompt_file_error"

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, hint: str | None = None
    ) -> None:
        self.path = path
        self.line = line
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        elif line:
            where = f"line {line}: "
        super().__init__(where + message, hint=hint)


class PromptFilesError(PromptFileError):
    """Several prompt files were refused at once; ``errors`` holds each (with its file and line)."""

    def __init__(self, errors: Sequence[PromptError]) -> None:
        self.errors = list(errors)
        self.problems = [str(err) for err in self.errors]
        count = len(self.errors)
        super().__init__(f"{count} prompt file{'' if count == 1 else 's'} refused: " + "; ".join(self.problems))
        first = self.errors[0] if self.errors else None
        if isinstance(first, PromptFileError):
            self.path, self.line = first.path, first.line


class UnsafeTemplateError(PromptError):
    """A template tried to reach Python internals; it is refused, never executed."""

    code = "unsafe_template"


class VersionConflict(PromptError):
    """Different content under a version that is already synced."""

    code = "version_conflict"


class ReviewError(PromptError):
    code = "review_error"


class RenderError(PromptError):
    code = "render_error"


class VariableValidationError(RenderError):
    """Variables failed validation. ``problems`` lists every one of them."""

    code = "invalid_variables"

    def __init__(self, problems: Sequence[str], *, prompt: str | None = None) -> None:
        self.problems = list(problems)
        head = f"invalid variables for prompt {prompt!r}" if prompt else "invalid variables"
        super().__init__(head + ": " + "; ".join(self.problems))


class ProviderError(PromptyardError):
    """A model provider failed. ``provider`` names the adapter."""

    code = "provider_error"
    retryable: bool = False

    def __init__(
        self, message: str, *, provider: str | None = None, status: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status = status


class RateLimited(ProviderError):
    """The provider said 429; ``retry_after`` is in seconds when it told us."""

    code = "provider_rate_limited"
    retryable = True

    def __init__(
        self, message: str, *, retry_after: float | None = None, provider: str | None = None, status: int | None = 429
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """5xx, 529 overloaded, or the connection failed."""

    code = "provider_unavailable"
    retryable = True


class LocalRuntimeBroken(ProviderUnavailable):
    """The local model runtime failed its start-up probe (crash, hang, unloadable model). Not retried:
    the same build fails the same way; the hint says how to fix it."""

    code = "local_runtime_broken"
    retryable = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, provider="local", hint=hint)


class ProviderTimeout(ProviderError):
    """The call did not finish within its timeout and was cancelled."""

    code = "provider_timeout"
    retryable = True


class BadRequest(ProviderError):
    """The provider refused the request (4xx other than 429). Not retried."""

    code = "provider_bad_request"


class UnknownModel(ProviderError):
    """No configured provider or model by that name."""

    code = "unknown_model"

    def __init__(self, message: str, *, available: Sequence[str] = ()) -> None:
        self.available = list(available)
        hint = ("configured: " + ", ".join(self.available)) if self.available else None
        super().__init__(message, hint=hint)


class OutputValidationError(PromptyardError):
    """The model's output failed the prompt's output rules after every retry."""

    code = "output_invalid"

    def __init__(self, message: str, *, problems: Sequence[str] = (), output: str | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems)
        self.output = output


class RateLimitExceeded(PromptyardError):
    """One of promptyard's own rate limits (per key or per end user) is exhausted."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExceeded(PromptyardError):
    """The daily budget is spent and the hard stop is on."""

    code = "budget_exceeded"


class GuardBlocked(PromptyardError):
    """A guard with ``action: block`` triggered (or failed with ``on_error: block``)."""

    code = "guard_blocked"

    def __init__(
        self, message: str, *, guard: str, stage: str, where: str = "", score: float = 0.0,
        verdicts: Sequence[object] = (), hint: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message, hint=hint)
        self.guard, self.stage, self.where, self.score = guard, stage, where, score
        self.verdicts = list(verdicts)


class NotFound(PromptyardError):
    """A record (trace, corpus, dataset, run) does not exist."""

    code = "not_found"

    def __init__(self, message: str, *, available: Sequence[str] = (), hint: str | None = None) -> None:
        self.available = list(available)
        if self.available and hint is None:
            hint = "available: " + ", ".join(self.available)
        super().__init__(message, hint=hint)


class InvalidInput(PromptyardError):
    """A request or argument is malformed."""

    code = "invalid_input"


class ExperimentError(PromptyardError):
    """An experiment or canary cannot do this now (another split runs on the label, it has ended)."""

    code = "experiment_conflict"


class EvalGateRefused(ExperimentError):
    """A label requires a non-regressing eval run on its dataset, and the version has none."""

    code = "eval_gate_refused"


class StoreError(PromptyardError):
    """The database or another store failed."""

    code = "store_error"


class StoreUnavailable(StoreError):
    """A store (the RAG vector store) could not be reached, even after retrying."""

    code = "store_unavailable"


class DependencyUnavailable(StoreUnavailable):
    """A service the instance depends on (``dependency``: ``database`` or ``redis``) is unreachable.
    The instance keeps running and recovers by itself when the service is back."""

    code = "dependency_unavailable"

    def __init__(self, dependency: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.dependency = dependency


__all__ = [
    "AuthError",
    "BadRequest",
    "BudgetExceeded",
    "ConfigError",
    "DependencyUnavailable",
    "EvalGateRefused",
    "ExperimentError",
    "GuardBlocked",
    "InvalidInput",
    "NotFound",
    "OutputValidationError",
    "PermissionDenied",
    "PromptError",
    "PromptFileError",
    "PromptFilesError",
    "PromptNotFound",
    "PromptyardError",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimitExceeded",
    "RateLimited",
    "RenderError",
    "ReviewError",
    "StoreError",
    "StoreUnavailable",
    "UnknownModel",
    "UnsafeTemplateError",
    "VariableValidationError",
    "VersionConflict",
]
