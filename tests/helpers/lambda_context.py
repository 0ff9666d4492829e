"""A stand-in for the Lambda context the runtime passes to a handler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads off a Lambda context, with fixed values for stable logs."""

    function_name: str = "orderflow-test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_group_name: str = "/aws/lambda/orderflow-test"
    log_stream_name: str = "2025/11/23/[$LATEST]abcdef"
    # A fixed minute left: enough for any handler under test; idempotency's in-progress expiry reads it.
    remaining_millis: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis
