"""Keep moto's log line for each workflow failure out of the user's terminal; the history already holds it.

moto's interpreter logs every failure a workflow raises, at ERROR, once per component it passes through: a
Fail state, a task error that a Catch then handles, a heartbeat that runs out. Each line holds the whole
component tree (several kilobytes), and nothing in the project configures logging, so Python's last-resort
handler printed them: a passing ``make demo`` showed seven, one per expected rejection or cancellation.
Step Functions logs nothing of the kind; the execution's history records each failure
(``FailStateEntered``, ``TaskFailed``, ``ExecutionFailed``), and that is where the console and
``orderflow watch`` show it.

``WORKFLOW_FAILURE_LINES`` drops those lines while the embedded stack runs, and only those: moto's lines for
an unexpected exception in the interpreter (a bug, ours or moto's) still print. A user who turns the logger
up to DEBUG sees the failure lines again.
"""

from __future__ import annotations

import logging

from localaws.patches import registry

# moto's LOG.error("%s at '%s'", error_log, repr(component)), where error_log starts with this.
FAILURE_LINE_START = "Exception=FailureEventException"
LOG_FAILURE = registry.register(
    "moto.stepfunctions.parser.asl.component.eval_component.EvalComponent._log_failure_event_exception",
    "writes the ERROR line for a workflow's failure that WORKFLOW_FAILURE_LINES keeps out of the terminal",
)
LOGGER_NAME = LOG_FAILURE.rsplit(".", 2)[0]  # the module's logger: moto's LOG = logging.getLogger(__name__)


def is_workflow_failure(record: logging.LogRecord) -> bool:
    """True for moto's line about a failure the workflow raised (what its history records)."""
    args = record.args
    return isinstance(args, tuple) and bool(args) and str(args[0]).startswith(FAILURE_LINE_START)


class WorkflowFailureLines(logging.Filter):
    """Installed on moto's interpreter logger while the embedded stack runs."""

    def __init__(self) -> None:
        super().__init__()
        self._logger = logging.getLogger(LOGGER_NAME)

    def filter(self, record: logging.LogRecord) -> bool:
        return not is_workflow_failure(record) or self._logger.isEnabledFor(logging.DEBUG)

    def install(self) -> None:
        self._logger.addFilter(self)

    def uninstall(self) -> None:
        self._logger.removeFilter(self)


WORKFLOW_FAILURE_LINES = WorkflowFailureLines()
