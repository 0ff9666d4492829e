"""A tiny CDK app with the shapes the local deployer must handle; synthesized by the tests."""

from __future__ import annotations

import pathlib
import sys

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

HANDLERS = pathlib.Path(__file__).parent / "handlers"


def build(outdir: str, *, with_extra_queue: bool = False) -> None:
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "FixtureStack", env=cdk.Environment(account="123456789012", region="us-east-1"))
    dlq = sqs.Queue(stack, "WorkDlq", fifo=True)
    work = sqs.Queue(
        stack,
        "WorkQueue",
        fifo=True,
        content_based_deduplication=True,
        visibility_timeout=cdk.Duration.seconds(120),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=3),
    )
    named = sqs.Queue(stack, "NamedQueue", queue_name="fixture-named")
    code = lambda_.Code.from_asset(str(HANDLERS))
    fn = lambda_.Function(
        stack,
        "DemoFunction",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="services.demo.handler.handler",
        code=code,
        timeout=cdk.Duration.seconds(3),
        memory_size=256,
        environment={"GREETING": "hello", "QUEUE_URL": named.queue_url},
    )
    other = lambda_.Function(
        stack,
        "OtherFunction",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="services.demo.handler.sqs_handler",
        code=code,
        environment={"ONLY_IN_OTHER": "yes"},
    )
    other.add_event_source(sources.SqsEventSource(named, batch_size=5, report_batch_item_failures=True))
    table = dynamodb.TableV2(
        stack,
        "Ledger",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
        time_to_live_attribute="ttl",
    )
    dynamodb.Table(
        stack,
        "Classic",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    )
    stream = kinesis.Stream(stack, "Analytics", shard_count=2)
    topic = sns.Topic(stack, "Status")
    topic.add_subscription(
        subs.SqsSubscription(
            named,
            raw_message_delivery=True,
            filter_policy={"status": sns.SubscriptionFilter.string_filter(allowlist=["PAID"])},
        )
    )
    invoke = tasks.LambdaInvoke(
        stack, "Charge", lambda_function=fn, payload_response_only=True, retry_on_service_exceptions=False
    )
    invoke.add_catch(
        sfn.Pass(stack, "Declined", result=sfn.Result.from_object({"declined": True})),
        errors=["PaymentDeclinedError"],
    )
    machine = sfn.StateMachine(
        stack,
        "Flow",
        definition_body=sfn.DefinitionBody.from_chainable(invoke.next(sfn.Succeed(stack, "Done"))),
    )
    bus = events.EventBus(stack, "Bus", event_bus_name="fixture-orders")
    events.Rule(
        stack,
        "OnOrder",
        event_bus=bus,
        event_pattern=events.EventPattern(source=["orderflow.orders"], detail_type=["OrderPlaced"]),
        targets=[targets.SfnStateMachine(machine)],
    )
    bus.archive("Archive", event_pattern=events.EventPattern(source=["orderflow.orders"]))
    alarm = cloudwatch.Alarm(
        stack,
        "DlqAlarm",
        metric=dlq.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(1)),
        threshold=1,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cw_actions.SnsAction(topic))
    if with_extra_queue:
        sqs.Queue(stack, "AddedLater", queue_name="fixture-added-later")
    cdk.CfnOutput(stack, "WorkQueueUrl", value=work.queue_url)
    cdk.CfnOutput(stack, "TableArn", value=table.table_arn)
    cdk.CfnOutput(stack, "StreamName", value=stream.stream_name)
    app.synth()


if __name__ == "__main__":
    build(sys.argv[1], with_extra_queue=len(sys.argv) > 2)
