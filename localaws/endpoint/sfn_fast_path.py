"""Step Functions' hottest API calls over HTTP, answered without werkzeug's request and moto's serialiser.

Every execution a client starts is a StartExecution and, while it waits, DescribeExecution polls; every
callback task is answered by a SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat. On the lean path
(``server.LeanDispatcher``) each such call builds werkzeug's request, runs ``BaseResponse.setup_class`` (form
and query-string parsing, URL parsing) and has moto's response serialiser walk the output shape through its
attribute picker: about half of a DescribeExecution's CPU was the serialiser, a fifth the request set-up.

``STEPFUNCTIONS`` is the service's entry for ``json_fast_path.JsonFastPath``, which skips werkzeug's request
and ``setup_class`` for a POST to ``/`` with an ``X-Amz-Target`` in ``FAST_OPERATIONS`` and calls the
``StepFunctionResponse``'s ``call_action`` (so moto's authorisation, the action, every patch on it -- the size
limits, the ``#TestCase`` suffix, SendTaskFailure's cause, the execution index -- and the request id run as on
the lean path). A success is written by ``json_answer``, as moto's serialiser writes it, as every fast-path
service's is; anything it does not cover (an error, a value of a type not covered) goes to moto's serialiser.
``SFN_HTTP`` is the switch (a ``PatchSet`` in the speed-ups, so the benchmark's
ablation can turn it off).
"""

from __future__ import annotations

from localaws.endpoint.json_fast_path import FastService, service_reads
from localaws.endpoint.plain_response import JSON_1_0
from localaws.patches import registry

_SFN_RESPONSE = "moto.stepfunctions.responses.StepFunctionResponse"

SFN_HTTP = registry.PatchSet("sfn_http", reads=service_reads(_SFN_RESPONSE))

TARGET_PREFIX = "AWSStepFunctions."
# Operations answered here; their successes are written by json_answer (the rest of their answers by moto).
FAST_OPERATIONS = frozenset(
    {
        "StartExecution",
        "DescribeExecution",
        "SendTaskSuccess",
        "SendTaskFailure",
        "SendTaskHeartbeat",
        # Read once per execution by clients that check what it did (the workflow suite, 39 times): moto's
        # serialiser took 41 ms of CPU for each (its attribute picker on every member of every event).
        "GetExecutionHistory",
    }
)

STEPFUNCTIONS = FastService(
    "stepfunctions", TARGET_PREFIX, FAST_OPERATIONS, JSON_1_0, _SFN_RESPONSE, SFN_HTTP
)
