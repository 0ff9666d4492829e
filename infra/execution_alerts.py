"""Alerts per order execution: FAILED, TIMED_OUT and ABORTED order executions go to ``system-alerts``.

Step Functions puts an ``Execution Status Change`` event on the account's default bus at every status
change of a Standard execution; this rule picks the order workflow's bad endings and publishes one alert
each, naming the execution and carrying its input (where the order is; see
``services.shared.execution_alerts``). A metric alarm could only say that some execution failed.
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.naming import Names
from services.shared.execution_alerts import ALERTING_STATUSES, EXECUTION_ALERT_FIELDS, EXECUTION_ALERT_KIND

STATUS_CHANGE_SOURCE = "aws.states"
STATUS_CHANGE_DETAIL_TYPE = "Step Functions Execution Status Change"


class ExecutionAlerts(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        state_machine: sfn.IStateMachine,
        alerts: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        message = {"kind": EXECUTION_ALERT_KIND} | {
            field: events.EventField.from_path(path) for field, path in EXECUTION_ALERT_FIELDS.items()
        }
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=names("order-execution-alerts"),
            description="Order executions that failed, timed out or were aborted, one alert each",
            event_pattern=events.EventPattern(
                source=[STATUS_CHANGE_SOURCE],
                detail_type=[STATUS_CHANGE_DETAIL_TYPE],
                detail={
                    "status": list(ALERTING_STATUSES),
                    "stateMachineArn": [state_machine.state_machine_arn],
                },
            ),
            targets=[targets.SnsTopic(alerts, message=events.RuleTargetInput.from_object(message))],
        )
