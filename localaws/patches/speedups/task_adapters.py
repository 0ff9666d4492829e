"""Speed-up of the engine's task calls: the hottest covered operations go straight to moto's backend.

* ``task_adapters`` -- ``direct_dispatch.DirectClient`` already skips botocore's client machinery, but a
  task call still has botocore serialise the parameters, moto's ``BaseResponse`` parse them back, the
  backend do the work, moto's serialiser write the answer and botocore's parser read it again: about 80 % of
  such a call. For the operations in ``ADAPTED`` the task's parameters go to the backend method that moto's
  handler would call, with the values moto's parser would have produced, and the answer is built from the
  backend's objects exactly as botocore parses moto's answer (members in the output shape's order,
  ``ResponseMetadata`` with moto's headers and request id). DynamoDB PutItem and UpdateItem run the
  handler's own action method (``DynamoHandler.put_item``/``update_item``: every check moto's response
  layer makes, then the backend's write) on a copy of the task's values, under the DynamoDB lock of
  ``corrections`` for the whole check and write; only their fixed answers (ReturnValues NONE) are adapted.

What the handler does around the backend call is done too, in moto's order of random draws: the account
from the access key (``MOTO_ACCOUNT_ID`` first), the region from the URL as the handler's class reads it,
``mark_account_as_visited``, the IAM request count. The parameters are validated first by botocore's
validator, as the client's serialiser does.

Anything the adapter does not take exactly -- binary or list message attributes, system attributes, an
invalid parameter, moto's recorder on -- returns ``None`` and the call
goes the direct path unchanged. So do errors: each adapted call either runs only when the backend cannot
fail part-way (SQS SendMessage raises every error before the message is added; PutEvents, Publish and
PutRecord are checked first for a missing bus, stream or a delivery that can fail), or, for DynamoDB,
puts the item back as it was before the failed call; the direct path then repeats the call and answers
moto's error, the same exception class, code and message by construction. Deliveries hook the backend
(``Queue.add_message``, ``Rule.send_to_targets``, ``Stream.put_record``), not the response layer, so they
fire on both paths alike.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
from collections.abc import Callable
from typing import Any

from botocore.validate import ParamValidationDecorator, ParamValidator

from localaws.delivery import eventbridge as eventbridge_delivery
from localaws.delivery import sns as sns_delivery
from localaws.endpoint.defaults import MOTO_DEFAULT_ACCESS_KEY
from localaws.endpoint.plain_response import JSON_1_0, JSON_1_1
from localaws.patches import corrections, direct_dispatch, limits, registry
from localaws.patches.speedups import access_keys
from localaws.patches.speedups.dynamodb import _item_undo

_SQS_BACKENDS = "moto.sqs.models.sqs_backends"
_SQS_MAX_DELAY = "moto.sqs.models.MAXIMUM_MESSAGE_DELAY"
_SQS_RESPONSE = "moto.sqs.responses.SQSResponse"
_SNS_BACKENDS = "moto.sns.models.sns_backends"
_SNS_MAX_LENGTH = "moto.sns.models.MAXIMUM_MESSAGE_LENGTH"
_SNS_RESPONSE = "moto.sns.responses.SNSResponse"
_VALIDATE_SQS_ATTRIBUTES = "moto.sqs.utils.validate_message_attributes"
_IAM_MODELS = "moto.iam.models"
_ACCOUNT_FROM_KEY = f"{_IAM_MODELS}.get_account_id_from"
_MARK_VISITED = f"{_IAM_MODELS}.mark_account_as_visited"
_RESPONSES = "moto.core.responses"
_REQUEST_ID = f"{_RESPONSES}.gen_amzn_requestid_long"
_HTTP_DATE = f"{_RESPONSES}.http_date"
_UTCNOW = f"{_RESPONSES}.utcnow"
_BASE_RESPONSE = f"{_RESPONSES}.BaseResponse"
_AUTHENTICATOR = "moto.core.authorization.ActionAuthenticatorMixin"
_SERVICE_EXCEPTION = "moto.core.exceptions.ServiceException"
_RECORDER = "moto.moto_api.recorder"
_DYNAMODB_HANDLER = "moto.dynamodb.responses.DynamoHandler"
_DYNAMODB_BACKENDS = "moto.dynamodb.models.dynamodb_backends"
_ACTION_RESULT = "moto.core.responses.ActionResult"
_EVENTS_BACKENDS = "moto.events.models.events_backends"
_KINESIS_BACKENDS = "moto.kinesis.models.kinesis_backends"

TASK_ADAPTERS = registry.PatchSet(
    "task_adapters",
    reads=[
        (_SQS_BACKENDS, "SendMessage: the SQS backend the handler uses"),
        ("moto.sqs.models.SQSBackend.send_message", "SendMessage: the backend call the handler makes"),
        ("moto.sqs.models.SQSBackend.get_queue", "SendMessage: the queue, for its FIFO flag"),
        (_SQS_MAX_DELAY, "SendMessage: moto's delay limit, checked after its random draws"),
        (
            # Not an attribute path: Queue sets delay_seconds with setattr from its attribute names.
            "moto.sqs.models.Queue._set_attributes",
            "sets delay_seconds and maximum_message_size: the queue's delay and size limit",
        ),
        (_VALIDATE_SQS_ATTRIBUTES, "SendMessage: the handler's attribute check"),
        (f"{_SQS_RESPONSE}.region_regex", "the region as the SQS handler reads it from the URL"),
        ("moto.sqs.models.Queue.fifo_queue", "SendMessage answers a SequenceNumber for FIFO queues"),
        ("moto.sqs.models.Message.id", "SendMessage's MessageId"),
        ("moto.sqs.models.Message.body_md5", "SendMessage's MD5OfMessageBody"),
        ("moto.sqs.models.Message.attribute_md5", "SendMessage's MD5OfMessageAttributes"),
        ("moto.sqs.models.Message.message_attributes", "whether SendMessage answers MD5OfMessageAttributes"),
        ("moto.sqs.models.Message.sequence_number", "SendMessage's SequenceNumber"),
        (_SNS_BACKENDS, "Publish: the SNS backend the handler uses"),
        (
            "moto.sns.models.SNSBackend.topics",
            "Publish: the topic (a missing one or an endpoint: moto's path)",
        ),
        ("moto.sns.models.SNSBackend.list_subscriptions_by_topic", "Publish: where the fan-out goes"),
        (_SNS_MAX_LENGTH, "Publish: moto's message limit (limits.SIZE_LIMITS raises it), checked first"),
        ("moto.sns.models.Topic.publish", "Publish: the fan-out the backend's publish makes"),
        ("moto.sns.models.Topic.fifo_topic", "Publish: moto's FIFO checks, before adapting"),
        ("moto.sns.models.Topic.content_based_deduplication", "Publish: moto's FIFO checks"),
        ("moto.sns.models.Subscription.protocol", "Publish: only fan-outs that cannot fail are adapted"),
        ("moto.sns.models.Subscription.endpoint", "Publish: the subscribed queue"),
        ("moto.sns.models.Subscription.attributes", "Publish: raw delivery to a queue"),
        ("moto.sns.models.Subscription.account_id", "Publish: the account whose queue moto delivers to"),
        (f"{_SNS_RESPONSE}._transform_message_attributes", "Publish: the handler's attribute transform"),
        (f"{_SNS_RESPONSE}.region_regex", "the region as the SNS handler reads it from the URL"),
        ("moto.sqs.models.SQSBackend.queues", "Publish to a queue: the subscribed queue exists"),
        (_ACCOUNT_FROM_KEY, "the account, as BaseResponse.get_current_account finds it"),
        (_MARK_VISITED, "the IAM bookkeeping every handled request does"),
        (_REQUEST_ID, "the request id, with moto's random draws"),
        (_HTTP_DATE, "the date header, as BaseResponse.setup_class writes it"),
        (_UTCNOW, "the date header, as BaseResponse.setup_class writes it"),
        (f"{_BASE_RESPONSE}.access_key_regex", "the access key as the handler reads it"),
        (f"{_AUTHENTICATOR}.request_count", "counted per request, as the handler counts it"),
        (_SERVICE_EXCEPTION, "an error: the direct path repeats the call and answers it"),
        (_RECORDER, "recording on: not adapted (the direct path records)"),
        ("moto.moto_api._internal.recorder.models.Recorder._user_enabled", "whether moto records requests"),
        (_DYNAMODB_HANDLER, "PutItem/UpdateItem: moto's handler, its checks and backend call, run as is"),
        (f"{_DYNAMODB_HANDLER}.put_item", "PutItem: the handler's action, with the task's parameters"),
        (f"{_DYNAMODB_HANDLER}.update_item", "UpdateItem: the handler's action, with the task's parameters"),
        (f"{_DYNAMODB_HANDLER}.call_action", "sets body to the parsed parameters, as the adapter does"),
        (f"{_DYNAMODB_HANDLER}.dynamodb_backend", "the backend of the handler's current_account and region"),
        (f"{_DYNAMODB_HANDLER}.region_regex", "the region as the DynamoDB handler reads it from the URL"),
        ("moto.core.responses.BaseResponse.setup_class", "sets current_account and region, as we do"),
        (_DYNAMODB_BACKENDS, "PutItem/UpdateItem: the table, for its stream and the item's undo"),
        ("moto.dynamodb.models.DynamoDBBackend.tables", "PutItem/UpdateItem: the table, if any"),
        ("moto.dynamodb.models.table.Table.stream_shard", "a table with a stream stays on moto's path"),
        (f"{_ACTION_RESULT}.result", "the handler's answer, before moto's serialiser"),
        ("moto.utilities.aws_headers.amz_crc32", "DynamoDB answers carry the body's CRC32 header"),
        (_EVENTS_BACKENDS, "PutEvents: the backend the handler uses"),
        ("moto.events.models.EventsBackend.put_events", "PutEvents: the backend call the handler makes"),
        ("moto.events.models.EventsBackend.describe_event_bus", "PutEvents: a missing bus stays moto's"),
        ("moto.events.models.EventsBackend._normalize_event_bus_arn", "PutEvents: the bus, as moto finds it"),
        ("moto.events.models.EventsBackend.archives", "PutEvents: an archive's rule delivers to it"),
        ("moto.events.models.EventBus.rules", "PutEvents: only deliveries that cannot fail are adapted"),
        ("moto.events.models.Rule.targets", "PutEvents: only deliveries that cannot fail are adapted"),
        ("moto.events.models.Rule.region_name", "PutEvents: an archive rule's target ARN"),
        ("moto.events.responses.EventsHandler.put_events", "PutEvents' answer: json.dumps of its entries"),
        ("moto.events.responses.EventsHandler.region_regex", "the region as the handler reads it"),
        ("moto.events.models.EventsBackend.create_archive", "the archive rule's target and template"),
        (_KINESIS_BACKENDS, "PutRecord: the backend the handler uses"),
        ("moto.kinesis.models.KinesisBackend.put_record", "PutRecord: the backend call the handler makes"),
        ("moto.kinesis.models.KinesisBackend.describe_stream", "PutRecord: a missing stream stays moto's"),
        ("moto.kinesis.models.Stream.get_shard_for_key", "PutRecord: a key no shard takes stays moto's"),
        (
            "moto.kinesis.models.Stream.lambda_event_source_mappings",
            "PutRecord: moto's own Lambda mappings (which can fail after the put) stay moto's",
        ),
        (
            "moto.kinesis.responses.KinesisResponse.put_record",
            "reads Data as the base64 text botocore writes",
        ),
        ("moto.kinesis.responses.KinesisResponse.region_regex", "the region as the handler reads it"),
        ("botocore.validate.ParamValidationDecorator", "whether the client's serialiser validates"),
        ("botocore.client.BaseClient._serializer", "whether the client's serialiser validates"),
        ("botocore.client.BaseClient._get_credentials", "the access key moto maps to an account"),
    ],
)

Adapter = Callable[["_Call", dict[str, Any]], "dict[str, Any] | None"]

_validator = ParamValidator()


class _Moto:
    """The moto objects the adapters use, resolved once."""

    def __init__(self) -> None:
        self.sqs_backends = registry.resolve(_SQS_BACKENDS)
        self.sqs_max_delay: int = registry.resolve(_SQS_MAX_DELAY)
        self.sqs_region_regex = registry.resolve(f"{_SQS_RESPONSE}.region_regex")
        self.sns_backends = registry.resolve(_SNS_BACKENDS)
        # read at each call: ``limits.SIZE_LIMITS`` raises it while installed
        self.sns_max_length: Callable[[], int] = lambda: int(registry.resolve(_SNS_MAX_LENGTH))
        self.sns_region_regex = registry.resolve(f"{_SNS_RESPONSE}.region_regex")
        self.sns_response = registry.resolve(_SNS_RESPONSE)()  # stateless attribute transform
        self.validate_sqs_attributes = registry.resolve(_VALIDATE_SQS_ATTRIBUTES)
        self.iam_models = registry.resolve(_IAM_MODELS)
        self.responses = registry.resolve(_RESPONSES)
        self.base_response = registry.resolve(_BASE_RESPONSE)
        self.authenticator = registry.resolve(_AUTHENTICATOR)
        self.service_exception = registry.resolve(_SERVICE_EXCEPTION)
        self.recorder = registry.resolve(_RECORDER)
        self.dynamodb_handler = registry.resolve(_DYNAMODB_HANDLER)
        self.dynamodb_backends = registry.resolve(_DYNAMODB_BACKENDS)
        self.dynamodb_region_regex = registry.resolve(f"{_DYNAMODB_HANDLER}.region_regex")
        self.events_backends = registry.resolve(_EVENTS_BACKENDS)
        self.kinesis_backends = registry.resolve(_KINESIS_BACKENDS)
        self.kinesis_region_regex = registry.resolve("moto.kinesis.responses.KinesisResponse.region_regex")
        self.events_region_regex = registry.resolve("moto.events.responses.EventsHandler.region_regex")
        # call_action answers werkzeug's HTTPException (moto's RESTError) as an error too.
        from werkzeug.exceptions import HTTPException  # noqa: PLC0415 - werkzeug loads with moto

        self.errors: tuple[type[BaseException], ...] = (self.service_exception, HTTPException)


_moto: _Moto | None = None
_moto_lock = threading.Lock()


def _resolved() -> _Moto:
    global _moto  # noqa: PLW0603 - resolved once per process
    with _moto_lock:
        if _moto is None:
            _moto = _Moto()
        return _moto


class _Call:
    """One adapted call: the client's account and region as moto's handler would find them."""

    def __init__(self, client: Any, moto: _Moto, region: str) -> None:
        self.client = client
        self.moto = moto
        self.region = region
        self.access_key = _access_key(client, moto)
        self.account: str = os.environ.get("MOTO_ACCOUNT_ID") or moto.iam_models.get_account_id_from(
            self.access_key
        )

    def handled(self, service: str, content_type: str | None) -> dict[str, Any]:
        """What moto's handler does around a successful action; the ``ResponseMetadata`` botocore parses.

        ``content_type``: ``None`` for a handler that answers a bare string (no serialiser, no header)."""
        moto = self.moto
        moto.iam_models.mark_account_as_visited(
            account_id=self.account, access_key=self.access_key, service=service, region=self.region
        )
        moto.authenticator.request_count += 1
        headers: dict[str, Any] = {} if content_type is None else {"content-type": content_type}
        headers["server"] = "amazon.com"
        headers["date"] = moto.responses.http_date(moto.responses.utcnow())
        request_id = moto.responses.gen_amzn_requestid_long(headers)
        return {
            "RequestId": request_id,
            "HTTPStatusCode": 200,
            "HTTPHeaders": headers,
            "MaxAttemptsReached": True,
            "RetryAttempts": 0,
        }


def _over_size_limit(body: str, attributes: dict[str, Any], limit: int) -> bool:
    """Whether AWS's payload limit, in force locally while ``limits.SIZE_LIMITS`` is installed, refuses it.

    That check sits in moto's ``call_action``, which an adapted call never reaches: so such a call is not
    adapted, and the direct path answers the limit's error."""
    return limits.SIZE_LIMITS.installed and limits.message_size(body, attributes) > limit


def _access_key(client: Any, moto: _Moto) -> str:
    credentials = client._get_credentials()
    access_key = credentials.access_key if credentials is not None else MOTO_DEFAULT_ACCESS_KEY
    # The handler reads the key back from the Authorization header the direct path writes.
    header = f"AWS4-HMAC-SHA256 Credential={access_key}/"
    return access_keys.access_key_in(moto.base_response.access_key_regex, header) or MOTO_DEFAULT_ACCESS_KEY


def _url_region(client: Any, region_regex: Any) -> str:
    """The region as ``BaseResponse.get_region_from_url`` finds it for this client's requests."""
    match = region_regex.search(f"{client.meta.endpoint_url}/")
    return match.group(1) if match else client.meta.region_name


# --- SQS SendMessage ----------------------------------------------------------------------------------

# Members of SQS's MessageAttributeValue, in the shape's order (moto's parser builds the dict in it).
_SQS_ATTRIBUTE_KEYS = ("StringValue", "DataType")


def _sqs_attributes(attributes: Any) -> dict[str, Any] | None:
    """The message attributes as moto's parser gives them, or ``None`` for what is not adapted."""
    if attributes is None:
        return {}
    if type(attributes) is not dict:
        return None
    shaped: dict[str, Any] = {}
    for name, value in attributes.items():
        # binary and list values (base64, lists) stay moto's; so does anything not plain JSON text
        if type(name) is not str or type(value) is not dict or not set(value) <= set(_SQS_ATTRIBUTE_KEYS):
            return None
        if any(type(value[key]) is not str for key in value):
            return None
        shaped[name] = {key: value[key] for key in _SQS_ATTRIBUTE_KEYS if key in value}
    return shaped


def _text(params: dict[str, Any], *names: str, required: bool = False) -> bool:
    """Whether each named parameter is text (or absent, unless required): it reaches moto unchanged."""
    for name in names:
        value = params.get(name)
        if not (type(value) is str or (value is None and not required)):
            return False
    return True


def _sqs_send_message(call: _Call, params: dict[str, Any]) -> dict[str, Any] | None:
    # Without botocore's validation (a client may turn it off) anything but plain values stays moto's,
    # since the direct path's JSON round trip could change them.
    if params.get("MessageSystemAttributes") is not None:
        return None
    if not _text(params, "QueueUrl", "MessageBody", required=True) or not _text(
        params, "MessageGroupId", "MessageDeduplicationId"
    ):
        return None
    attributes = _sqs_attributes(params.get("MessageAttributes"))
    delay_seconds = params.get("DelaySeconds")
    if attributes is None or (delay_seconds is not None and type(delay_seconds) is not int):
        return None
    queue_url: str = params["QueueUrl"]
    queue_name = (
        queue_url.rsplit("/", maxsplit=1)[-1] if queue_url.startswith(("http://", "https://")) else queue_url
    )
    moto = call.moto
    backend = moto.sqs_backends[call.account][call.region]
    try:
        moto.validate_sqs_attributes(attributes)
        queue = backend.get_queue(queue_name)
        if _over_size_limit(params["MessageBody"], attributes, int(queue.maximum_message_size)):
            return None
        effective_delay = delay_seconds if delay_seconds is not None else int(queue.delay_seconds)
        if effective_delay > moto.sqs_max_delay:
            return None  # moto raises this one after drawing the message id: the draws must stay moto's
        message = backend.send_message(
            queue_name,
            params["MessageBody"],
            message_attributes=attributes,
            delay_seconds=delay_seconds,
            deduplication_id=params.get("MessageDeduplicationId"),
            group_id=params.get("MessageGroupId"),
            system_attributes=None,
        )
    except moto.errors:
        return None  # raised before the message was added: the direct path answers moto's error
    answer: dict[str, Any] = {"MD5OfMessageBody": message.body_md5}
    if len(message.message_attributes) > 0:
        answer["MD5OfMessageAttributes"] = message.attribute_md5
    answer["MessageId"] = message.id
    if queue.fifo_queue and message.sequence_number:
        answer["SequenceNumber"] = message.sequence_number
    answer["ResponseMetadata"] = call.handled("sqs", JSON_1_0)
    return answer


# --- SNS Publish --------------------------------------------------------------------------------------

# moto's SQS delivery of a notification: its JSON envelope escapes each character to at most six, and adds
# well under this much around the message, subject and attributes (ids, ARNs, URLs, signature).
_ENVELOPE_SLACK = 8192
_ESCAPED_MAX = 6


def _sns_attributes(attributes: Any) -> dict[str, Any] | None:
    """Message attributes as moto's query parser gives them, or ``None`` for what is not adapted."""
    if attributes is None:
        return {}
    if type(attributes) is not dict:
        return None
    shaped: dict[str, Any] = {}
    for name, value in attributes.items():
        if type(name) is not str or not name or type(value) is not dict:
            return None
        if set(value) != {"DataType", "StringValue"} or any(
            type(v) is not str or not v for v in value.values()
        ):
            return None  # binary values, empty strings (the query protocol's own handling): moto's path
        shaped[name] = {"DataType": value["DataType"], "StringValue": value["StringValue"]}
    return shaped


def _fan_out_cannot_fail(call: _Call, subscription: Any, size_bound: int) -> bool:
    """Whether moto delivers to this subscription without raising: then a half-done fan-out cannot be."""
    if subscription.protocol == "lambda":
        region = subscription.endpoint.split(":")[3]
        # our delivery enqueues (localaws.delivery.sns); moto's own synchronous invoke is left to moto
        return sns_delivery._running.running(subscription.account_id, region) is not None
    if subscription.protocol != "sqs":
        return False
    _, _, _, region, account, queue_name = subscription.endpoint.split(":", 5)
    if account != subscription.account_id:
        return False  # moto sends to the subscriber's account's queue of that name
    queue = call.moto.sqs_backends[subscription.account_id][region].queues.get(queue_name)
    if queue is None or queue.fifo_queue or int(queue.delay_seconds) > call.moto.sqs_max_delay:
        return False
    return size_bound <= int(queue.maximum_message_size)


def _sns_publish(call: _Call, params: dict[str, Any]) -> dict[str, Any] | None:
    if any(params.get(name) is not None for name in ("TargetArn", "PhoneNumber", "MessageStructure")):
        return None
    if not _text(params, "TopicArn", "Message", required=True) or not _text(
        params, "Subject", "MessageGroupId", "MessageDeduplicationId"
    ):
        return None
    if any(
        params.get(name) == "" for name in ("Message", "Subject", "MessageGroupId", "MessageDeduplicationId")
    ):
        return None  # the query protocol's empty values: moto's path
    raw_attributes = _sns_attributes(params.get("MessageAttributes"))
    if raw_attributes is None:
        return None
    moto = call.moto
    backend = moto.sns_backends[call.account][call.region]
    topic = backend.topics.get(params["TopicArn"])
    if topic is None:
        return None  # a missing topic, or a platform endpoint: moto's path
    message: str = params["Message"]
    subject = params.get("Subject")
    group_id = params.get("MessageGroupId")
    deduplication_id = params.get("MessageDeduplicationId")
    # SNSBackend.publish's checks, as conditions to adapt: whatever moto refuses is answered by moto.
    if (subject is not None and len(subject) > 100) or len(message) > moto.sns_max_length():
        return None
    if _over_size_limit(message, raw_attributes, limits.sns_topic_limit(topic)):
        return None
    if topic.fifo_topic:
        if not group_id or (not deduplication_id and not topic.content_based_deduplication):
            return None
    elif deduplication_id:
        return None
    try:
        attributes = moto.sns_response._transform_message_attributes(raw_attributes)
    except moto.errors:
        return None
    text = (
        len(message)
        + len(subject or "")
        + sum(len(n) + len(v["DataType"]) + len(v["StringValue"]) for n, v in raw_attributes.items())
    )
    size_bound = _ESCAPED_MAX * text + _ENVELOPE_SLACK
    subscriptions, _ = backend.list_subscriptions_by_topic(topic_arn=topic.arn)
    if not all(_fan_out_cannot_fail(call, subscription, size_bound) for subscription in subscriptions):
        return None
    message_id = topic.publish(
        message,
        subject=subject,
        message_attributes=attributes,
        group_id=group_id,
        deduplication_id=deduplication_id,
        message_structure=None,
    )
    return {"MessageId": message_id, "ResponseMetadata": call.handled("sns", "text/xml")}


# --- DynamoDB PutItem and UpdateItem -------------------------------------------------------------------

# Attribute values whose JSON round trip (botocore's serialiser, moto's parser) gives them back unchanged.
_DYNAMODB_SCALARS: dict[str, type] = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_DYNAMODB_SETS = frozenset({"SS", "NS"})
# Parameters the adapter takes; any other (Expected, AttributeUpdates, ConditionalOperator, ...) is moto's.
_DYNAMODB_TEXT = ("ConditionExpression", "UpdateExpression", "ReturnValuesOnConditionCheckFailure")
_DYNAMODB_NONE_ONLY = ("ReturnValues", "ReturnConsumedCapacity", "ReturnItemCollectionMetrics")
_DYNAMODB_TAKEN = frozenset(
    {"TableName", "Item", "Key", "ExpressionAttributeNames", "ExpressionAttributeValues"}
    | set(_DYNAMODB_TEXT)
    | set(_DYNAMODB_NONE_ONLY)
)


def _attribute_value(value: Any) -> dict[str, Any] | None:
    """A copy of one AttributeValue as moto's parser gives it, or ``None`` for what is not adapted."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    scalar = _DYNAMODB_SCALARS.get(kind)
    if scalar is not None:
        return {kind: inner} if type(inner) is scalar else None
    if kind in _DYNAMODB_SETS:
        if type(inner) is not list or any(type(member) is not str for member in inner):
            return None
        return {kind: list(inner)}
    if kind == "L":
        if type(inner) is not list:
            return None
        members = [_attribute_value(member) for member in inner]
        return None if any(member is None for member in members) else {"L": members}
    if kind == "M":
        attributes = _attribute_map(inner)
        return None if attributes is None else {"M": attributes}
    return None  # binary values (base64 on the wire), unknown kinds: moto's path


def _attribute_map(value: Any) -> dict[str, Any] | None:
    if type(value) is not dict:
        return None
    copied: dict[str, Any] = {}
    for name, attribute in value.items():
        shaped = _attribute_value(attribute) if type(name) is str else None
        if shaped is None:
            return None
        copied[name] = shaped
    return copied


def _dynamodb_body(params: dict[str, Any], key_member: str) -> dict[str, Any] | None:
    """The parameters as moto's parser would hand them to the handler (a copy), or ``None``."""
    if not params.keys() <= _DYNAMODB_TAKEN or not _text(params, "TableName", required=True):
        return None
    if not _text(params, *_DYNAMODB_TEXT):
        return None
    if any(params.get(name) not in (None, "NONE") for name in _DYNAMODB_NONE_ONLY):
        return None  # the answer then carries attributes or capacity: built by moto's serialiser
    names = params.get("ExpressionAttributeNames")
    if names is not None and (
        type(names) is not dict or any(type(k) is not str or type(v) is not str for k, v in names.items())
    ):
        return None
    body: dict[str, Any] = {}
    try:
        for name, given in params.items():
            if given is None:
                return None  # botocore writes null and moto's parser drops it: moto's path
            value = given
            if name in (key_member, "ExpressionAttributeValues"):
                value = _attribute_map(given)
                if value is None:
                    return None
            elif name == "ExpressionAttributeNames":
                value = dict(given)
            body[name] = value
    except RecursionError:
        return None
    return body if key_member in body else None


def _dynamodb_write(
    call: _Call, params: dict[str, Any], key_member: str, action: str
) -> dict[str, Any] | None:
    """Run moto's own handler action (its checks, the backend's write) with the task's parameters."""
    body = _dynamodb_body(params, key_member)
    if body is None:
        return None
    moto = call.moto
    handler = moto.dynamodb_handler()
    # What setup_class and DynamoHandler.call_action set before the action runs.
    handler.body = body
    handler.current_account = call.account
    handler.region = call.region
    backend = moto.dynamodb_backends[call.account][call.region]
    # One check-and-write, as corrections.DYNAMODB_CALL makes every DynamoDB request.
    with corrections.dynamodb_lock:
        table = backend.tables.get(body["TableName"])
        if table is None or table.stream_shard is not None:
            return None  # a missing table: moto's error; a stream records even a write that then fails
        undo = _item_undo(backend, body["TableName"], body[key_member])
        if undo is None:
            return None  # a key moto reads otherwise (missing or malformed): moto's path
        try:
            result = getattr(handler, action)()
        except Exception:  # moto's errors, and what moto fails with unanswered (a 500)
            # moto's UpdateItem may have created the item or set part of it before failing: put it back
            # as it was, and the direct path repeats the call and answers (or raises) moto's error.
            undo.restore()
            return None
    answer = _dynamodb_answer(result.result)
    serialized = json.dumps(answer)
    metadata = call.handled("dynamodb", JSON_1_0)
    metadata["HTTPHeaders"]["x-amz-crc32"] = str(binascii.crc32(serialized.encode("utf-8")))
    answer["ResponseMetadata"] = metadata
    return answer


def _dynamodb_answer(result: Any) -> dict[str, Any]:
    """The answer moto serialises and botocore parses back, for a write whose ReturnValues and
    ReturnConsumedCapacity are NONE: nothing (PutItem), or the capacity UpdateItem always reports."""
    answer: dict[str, Any] = {}
    capacity = result.get("ConsumedCapacity") if type(result) is dict else None
    if type(result) is not dict or result.keys() - {"ConsumedCapacity"}:
        raise RuntimeError(f"task_adapters: an answer moto's DynamoDB handler does not give here: {result!r}")
    if capacity is not None:
        if type(capacity) is not dict or capacity.keys() != {"TableName", "CapacityUnits"}:
            raise RuntimeError(f"task_adapters: a capacity moto does not report here: {capacity!r}")
        # moto's serialiser writes the shape's members in its order, TableName as text, units as a double
        answer["ConsumedCapacity"] = {
            "TableName": str(capacity["TableName"]),
            "CapacityUnits": float(capacity["CapacityUnits"]),
        }
    return answer


def _dynamodb_put_item(call: _Call, params: dict[str, Any]) -> dict[str, Any] | None:
    return _dynamodb_write(call, params, "Item", "put_item")


def _dynamodb_update_item(call: _Call, params: dict[str, Any]) -> dict[str, Any] | None:
    return _dynamodb_write(call, params, "Key", "update_item")


# --- EventBridge PutEvents ----------------------------------------------------------------------------

_EVENTS_ENTRY_TEXT = ("Source", "DetailType", "Detail", "EventBusName", "TraceHeader")
_EVENTS_MAX_ENTRIES = 10
_ARCHIVE_ARN = re.compile(r'"archive-arn": "[^"]*:archive/([^":]+):[^"]*"')


def _events_entries(entries: Any) -> list[dict[str, Any]] | None:
    """A copy of the entries as moto's handler reads them from the JSON body, or ``None``."""
    if type(entries) is not list or not 0 < len(entries) <= _EVENTS_MAX_ENTRIES:
        return None  # more than ten: moto's error
    copied: list[dict[str, Any]] = []
    for entry in entries:
        if type(entry) is not dict or not entry.keys() <= {*_EVENTS_ENTRY_TEXT, "Resources"}:
            return None  # Time (a timestamp on the wire), unknown members: moto's path
        if any(type(entry[name]) is not str for name in _EVENTS_ENTRY_TEXT if name in entry):
            return None
        resources = entry.get("Resources")
        if resources is not None and (
            type(resources) is not list or any(type(resource) is not str for resource in resources)
        ):
            return None
        copied.append({name: list(value) if name == "Resources" else value for name, value in entry.items()})
    return copied


def _target_cannot_fail(backend: Any, rule: Any, target: dict[str, Any]) -> bool:
    """Whether moto's delivery to this target cannot raise: then a half-done PutEvents cannot be."""
    if eventbridge_delivery._our_target(target):
        # enqueued by our delivery (dropped with a warning where none runs); without it moto raises
        return bool(eventbridge_delivery._running.patches.installed)
    arn = target.get("Arn", "")
    if arn != f"arn:aws:events:{rule.region_name}:::":
        return False
    # an archive's own rule: moto appends the event to the archive its template names
    template = (target.get("InputTransformer") or {}).get("InputTemplate") or ""
    archive = _ARCHIVE_ARN.search(template)
    return archive is not None and archive.group(1) in backend.archives


def _events_put_events(call: _Call, params: dict[str, Any]) -> dict[str, Any] | None:
    if params.keys() != {"Entries"}:
        return None  # EndpointId (global endpoints): moto's path
    entries = _events_entries(params["Entries"])
    if entries is None:
        return None
    if limits.SIZE_LIMITS.installed and (
        sum(limits.put_events_entry_size(entry) for entry in entries) > limits.PUT_EVENTS_MAX_BYTES
        or any(limits.detail_is_malformed(entry.get("Detail")) for entry in entries)
    ):
        return None  # AWS's limits, which the direct path answers in moto's call_action
    moto = call.moto
    backend = moto.events_backends[call.account][call.region]
    for entry in entries:
        if not (entry.get("Source") and entry.get("DetailType") and entry.get("Detail")):
            continue  # answered as a failed entry by moto, never sent
        try:
            bus = backend.describe_event_bus(backend._normalize_event_bus_arn(entry.get("EventBusName")))
        except moto.errors:
            return None  # a missing bus: moto raises after sending the entries before it
        if not all(
            _target_cannot_fail(backend, rule, t) for rule in bus.rules.values() for t in rule.targets
        ):
            return None
    results = backend.put_events(entries)
    failed = len([result for result in results if "ErrorCode" in result])
    # The handler answers json.dumps({"FailedEntryCount", "Entries"}); botocore parses each entry's
    # members in the shape's order.
    answer: dict[str, Any] = {
        "FailedEntryCount": failed,
        "Entries": [
            {name: result[name] for name in ("EventId", "ErrorCode", "ErrorMessage") if name in result}
            for result in results
        ],
    }
    answer["ResponseMetadata"] = call.handled("events", None)
    return answer


# --- Kinesis PutRecord --------------------------------------------------------------------------------

_KINESIS_TEXT = ("StreamName", "StreamARN", "ExplicitHashKey")


def _kinesis_put_record(call: _Call, params: dict[str, Any]) -> dict[str, Any] | None:
    if not params.keys() <= {*_KINESIS_TEXT, "PartitionKey", "Data"}:
        return None  # SequenceNumberForOrdering and anything newer: moto's path
    if not _text(params, "PartitionKey", required=True) or not _text(params, *_KINESIS_TEXT):
        return None
    data = params.get("Data")
    if type(data) is str:
        data = data.encode("utf-8")
    if type(data) is not bytes:
        return None
    # botocore writes a blob as base64 in the JSON body, and moto's handler reads that text back as is
    encoded = base64.b64encode(data).decode("ascii")
    moto = call.moto
    backend = moto.kinesis_backends[call.account][call.region]
    stream_arn, stream_name = params.get("StreamARN"), params.get("StreamName")
    try:
        stream = backend.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        shard = stream.get_shard_for_key(params["PartitionKey"], params.get("ExplicitHashKey"))
    except Exception:  # moto's errors, and what moto fails with unanswered: all before any record is added
        return None
    if shard is None or stream.lambda_event_source_mappings:
        return None  # no shard takes the key (moto fails); moto's own Lambda mappings can fail after the put
    sequence_number, shard_id = backend.put_record(
        stream_arn, stream_name, params["PartitionKey"], params.get("ExplicitHashKey"), encoded
    )
    # PutRecordOutput's members in the shape's order, as botocore parses moto's serialised answer
    answer: dict[str, Any] = {"ShardId": shard_id, "SequenceNumber": sequence_number}
    answer["ResponseMetadata"] = call.handled("kinesis", JSON_1_1)
    return answer


# (botocore service name, operation name) -> (adapter, the handler class's region regex getter)
ADAPTED: dict[tuple[str, str], tuple[Adapter, Callable[[_Moto], Any]]] = {
    ("sqs", "SendMessage"): (_sqs_send_message, lambda moto: moto.sqs_region_regex),
    ("sns", "Publish"): (_sns_publish, lambda moto: moto.sns_region_regex),
    ("dynamodb", "PutItem"): (_dynamodb_put_item, lambda moto: moto.dynamodb_region_regex),
    ("dynamodb", "UpdateItem"): (_dynamodb_update_item, lambda moto: moto.dynamodb_region_regex),
    ("events", "PutEvents"): (_events_put_events, lambda moto: moto.events_region_regex),
    ("kinesis", "PutRecord"): (_kinesis_put_record, lambda moto: moto.kinesis_region_regex),
}


class AdapterStats:
    """Calls answered by an adapter, and calls an adapter passed to the direct path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.adapted: dict[str, int] = {}
        self.passed: dict[str, int] = {}

    def count(self, operation: str, *, adapted: bool) -> None:
        with self._lock:
            counts = self.adapted if adapted else self.passed
            counts[operation] = counts.get(operation, 0) + 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {"adapted": dict(self.adapted), "passed": dict(self.passed)}

    def totals(self) -> dict[str, int]:
        with self._lock:
            return {"adapted": sum(self.adapted.values()), "passed": sum(self.passed.values())}

    def reset(self) -> None:
        with self._lock:
            self.adapted = {}
            self.passed = {}


stats = AdapterStats()


def adapt(client: Any, operation: Any, params: dict[str, Any]) -> Any:
    """The answer of an adapted operation, or ``direct_dispatch.NOT_ADAPTED``."""
    if not TASK_ADAPTERS.installed:
        return direct_dispatch.NOT_ADAPTED
    entry = ADAPTED.get((client.meta.service_model.service_name, operation.name))
    if entry is None:
        return direct_dispatch.NOT_ADAPTED
    adapter, region_regex = entry
    url = f"{client.meta.endpoint_url}/"  # every adapted operation is POSTed to the endpoint's root
    if direct_dispatch.moto_service_for(url) != client.meta.service_model.endpoint_prefix:
        return direct_dispatch.NOT_ADAPTED
    moto = _resolved()
    if moto.recorder._user_enabled:
        return direct_dispatch.NOT_ADAPTED
    if not params.keys() <= operation.model.input_shape.members.keys():
        return direct_dispatch.NOT_ADAPTED  # unknown parameters: botocore's error, validated or not
    if isinstance(client._serializer, ParamValidationDecorator):  # as the client's serialiser validates
        report = _validator.validate(params, operation.model.input_shape)
        if report.has_errors():
            return direct_dispatch.NOT_ADAPTED  # the direct path raises botocore's ParamValidationError
    # The direct path's request has no User-Agent: the URL, else the credential scope, names the region.
    answer = adapter(_Call(client, moto, _url_region(client, region_regex(moto))), params)
    stats.count(operation.name, adapted=answer is not None)
    return direct_dispatch.NOT_ADAPTED if answer is None else answer


def clear() -> None:
    stats.reset()


direct_dispatch.task_adapter = adapt
