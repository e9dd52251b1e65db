"""The ``--check`` report: one line per step, and the exceptions that fail a step.

``ok   <step>[: detail]``, ``note <step>: detail`` (informational), ``skip <stack>: reason`` and
``FAIL <step>: reason``; :class:`CheckReport` counts them for the exit status.
"""

from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field


class CheckFailed(Exception):
    """A check step failed; the message is printed after ``FAIL <step>:``."""


class StepFailed(Exception):
    """A step already reported its failure; ends the current stack's check."""


@dataclass(slots=True)
class Step:
    """One running check step: ``name`` and ``detail`` may be changed while it runs."""

    name: str
    detail: str = ""


@dataclass(slots=True)
class CheckReport:
    """Prints one line per check step and counts failures.

    ``ok   <step>: detail``, ``note <step>: detail`` and ``FAIL <step>: reason``.
    """

    write: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    passed: int = 0
    failed: int = 0

    def ok(self, name: str, detail: str = "") -> None:
        """Report a passed step."""
        self.passed += 1
        self.write(f"ok   {name}" + (f": {detail}" if detail else ""))

    def note(self, name: str, detail: str) -> None:
        """Report something a reader should know that is not a failure."""
        self.write(f"note {name}: {detail}")

    def skip(self, name: str, detail: str) -> None:
        """Report a step or stack that did not run (not a failure)."""
        self.write(f"skip {name}: {detail}")

    def fail(self, name: str, detail: str) -> None:
        """Report a failed step."""
        self.failed += 1
        self.write(f"FAIL {name}: {detail}")

    @contextlib.asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[Step]:
        """Run one step: ``ok`` when the block ends, ``FAIL`` (and stop the stack) if it raises.

        Any exception fails the step (its message, or its type when it has none); the block
        then raises an internal exception that ends the current stack's check.
        """
        step = Step(name)
        try:
            yield step
        except StepFailed:
            raise
        except Exception as err:
            self.fail(step.name, str(err) or type(err).__name__)
            raise StepFailed from err
        self.ok(step.name, step.detail)
