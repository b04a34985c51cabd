"""Why a run failed, in the classes a queue's ``--retry-on`` names (infra, preempted,
oom, exit:CODE), and the words its retry events use ("retry 1 of 2 after exit code 3").

A resource marks what it knows in ``RunStatus.cause`` (OOM: the container was killed
for memory; INFRA: an image pull backed off); an error of a service a launch needs
(``launch_core.errors.Unavailable``: a resource API's 5xx or silence) is INFRA; an
item whose agents kept dying before it was launched is INFRA too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from launch_core.spec.policy import QueuePolicy

INFRA, PREEMPTED, OOM = "infra", "preempted", "oom"
# Every retry event's message starts so (`relaunch job status` shows the last one).
RETRY_PREFIX = "retry "


@dataclass(frozen=True)
class Failure:
    """A failure as ``retry_on`` sees it: the classes it belongs to (an OOM kill with
    exit code 137 is both ``oom`` and ``exit:137``) and what the retry event says it
    came after."""

    classes: tuple[str, ...]
    about: str

    def retried_by(self, policy: QueuePolicy) -> bool:
        """Whether ``policy`` retries a failure of one of these classes."""
        return bool(set(self.classes) & set(policy.retry_on))


PREEMPTION = Failure((PREEMPTED,), "preemption")


def run_failure(exit_code: int | None, cause: str | None, message: str = "") -> Failure:
    """A run that ended failed with ``exit_code`` (None: unknown), the resource's
    ``cause`` (OOM, INFRA or None) and its ``message``."""
    classes = tuple(c for c in (cause, None if exit_code is None else f"exit:{exit_code}")
                    if c)
    if cause == OOM:
        return Failure(classes, "OOM")
    if cause == INFRA:
        return infra_failure(message or "the resource failed the run")
    return Failure(classes, "a failure" if exit_code is None else f"exit code {exit_code}")


def infra_failure(reason: str) -> Failure:
    """A failure of the infrastructure (a lost agent, a resource API's 5xx)."""
    first = reason.strip().splitlines()[0][:200] if reason.strip() else "unknown"
    return Failure((INFRA,), f"an infrastructure error: {first}")


def retry_message(number: int, budget: int, failure: Failure) -> str:
    """The retry event's message: ``retry 1 of 2 after exit code 3``."""
    return f"{RETRY_PREFIX}{number} of {budget} after {failure.about}"


def last_retry(messages: Iterable[str | None]) -> str | None:
    """The last retry event among an item's event ``messages`` (oldest first)."""
    found = None
    for message in messages:
        if message and message.startswith(RETRY_PREFIX):
            found = message
    return found
