"""How every orderflow Lambda function is built: one asset, the Powertools layer, tracing, JSON logs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.nag import accept_function_role, accept_tested_runtime
from infra.naming import Names
from infra.timing import FUNCTION_TIMEOUT

REPO_ROOT = Path(__file__).resolve().parent.parent
# The Python the tests run on (the Makefile builds the venv on 3.13), so what is tested is what deploys.
RUNTIME = lambda_.Runtime.PYTHON_3_13
POWERTOOLS_VERSION = "3.37.0"  # the version pinned in uv.lock, so the layer and our tests agree
# Powertools publishes its layer ARNs as public SSM parameters; CloudFormation resolves this at deploy time,
# so synthesis needs no AWS account.
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/x86_64/{RUNTIME.name}/{POWERTOOLS_VERSION}"

# Only the services package ships; tests, infra and the local runtime stay out of the asset.
_ASSET_EXCLUDES = ["*", "!services", "!services/**", "**/__pycache__", "**/*.pyc"]


class ServiceFunction(Construct):
    """A service's Lambda function. ``service`` is the package under ``services/``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        service: str,
        environment: dict[str, str] | None = None,
        publishes_to_encrypted_topic: bool = False,
        timeout: Duration = FUNCTION_TIMEOUT,
        memory_size: int = 256,
        layers: Sequence[lambda_.ILayerVersion] = (),
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        function_name = names(service.replace("_", "-"))
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        layer_arn = ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=f"services.{service}.handler.handler",
            code=lambda_.Code.from_asset(str(REPO_ROOT), exclude=_ASSET_EXCLUDES),
            layers=[lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", layer_arn), *layers],
            timeout=timeout,
            memory_size=memory_size,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": "orderflow",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **(environment or {}),
            },
        )
        accept_function_role(self.function, publishes_to_encrypted_topic=publishes_to_encrypted_topic)
        accept_tested_runtime(self.function)
