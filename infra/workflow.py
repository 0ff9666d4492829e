"""The order state machine: a Standard workflow with full logging, tracing and failure alarms."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import accept_state_machine_role
from infra.naming import Names
from workflows.order_workflow import OrderWorkflow, WorkflowResources
from workflows.states import STATE_MACHINE_NAME_SUFFIX


class OrderStateMachine(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        resources: WorkflowResources,
    ) -> None:
        super().__init__(scope, construct_id)
        name = names(STATE_MACHINE_NAME_SUFFIX)
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        workflow = OrderWorkflow(self, "Definition", resources=resources)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(workflow.definition),
            timeout=Duration.hours(2),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        accept_state_machine_role(self.state_machine, invoked=resources.validate_function)
        # Rates for the dashboard; each failed, timed-out or aborted execution alerts on its own, with its
        # order (infra/execution_alerts.py), so these alarms notify nobody.
        for metric_name, metric in (
            ("failed", self.state_machine.metric_failed(period=Duration.minutes(1))),
            ("timed-out", self.state_machine.metric_timed_out(period=Duration.minutes(1))),
        ):
            cloudwatch.Alarm(
                self,
                f"Executions{metric_name.title().replace('-', '')}Alarm",
                alarm_name=f"{name}-executions-{metric_name}",
                alarm_description=f"Order workflow executions {metric_name.replace('-', ' ')}",
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
