"""Speed-up of moto's SNS.

* ``sns_signing`` -- every SNS message delivered as an envelope (an SQS subscription without raw delivery,
  e.g. the console's) made moto build and sign a new X.509 certificate and keep its PEM forever: three RSA
  operations per delivery. We make one certificate per subscription key (as AWS signs with one certificate
  for a long time) and still sign every message; the envelope has the same fields and a valid signature.
"""

from __future__ import annotations

import base64
import datetime
import threading
from typing import Any

import cryptography.x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import Name, NameAttribute
from cryptography.x509.oid import NameOID
from moto.sns import models as sns_models

from localaws.patches import registry

_SNS_POST_DATA = "moto.sns.models.Subscription.get_post_data"
# A certificate is valid this long, as moto makes them.
_CERTIFICATE_DAYS = 365

_signing_certificates: dict[int, tuple[Any, str, bytes]] = {}  # id(key) → (key, PEM file name, PEM)
_signing_lock = threading.Lock()


def _signing_certificate(key: Any) -> tuple[str, bytes]:
    """The certificate moto would make for ``key`` (made once): its PEM file name and PEM."""
    with _signing_lock:
        known = _signing_certificates.get(id(key))
        if known is not None and known[0] is key:
            return known[1], known[2]

    now = sns_models.utcnow()
    certificate = (
        cryptography.x509.CertificateBuilder()
        .subject_name(Name([NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")]))
        .issuer_name(
            Name(
                [
                    NameAttribute(NameOID.COUNTRY_NAME, "US"),
                    NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
                    NameAttribute(NameOID.COMMON_NAME, "Amazon RSA 2048 M01"),
                ]
            )
        )
        .public_key(key.public_key())
        .serial_number(cryptography.x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=_CERTIFICATE_DAYS))
        .sign(key, hashes.SHA256())
    )
    name = f"SimpleNotificationService-{str(sns_models.mock_random.uuid4()).replace('-', '')}.pem"
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    with _signing_lock:
        _signing_certificates[id(key)] = (key, name, pem)
    return name, pem


def _sns_post_data(
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """moto's ``Subscription.get_post_data`` (SignatureVersion 2), one certificate per subscription key."""

    key = subscription.private_key()
    key_name, pem = _signing_certificate(key)
    timestamp = sns_models.iso_8601_datetime_with_milliseconds()
    string_to_sign = (
        f"Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\n"
        f"TopicArn\n{subscription.topic.arn}\nType\nNotification\n"
    )
    signature = key.sign(string_to_sign.encode("UTF-8"), padding.PKCS1v15(), hashes.SHA256())
    region = subscription.topic.sns_backend.region_name
    # Stored where moto serves it from (a reset backend gets it again).
    public_keys = sns_models.sns_backends[sns_models.DEFAULT_ACCOUNT_ID][region]._message_public_keys
    public_keys.setdefault(key_name, pem)
    post_data: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": subscription.topic.arn,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": "2",
        "Signature": base64.b64encode(signature).decode("utf-8"),
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/{key_name}",
        "UnsubscribeURL": (
            "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:"
            f"{subscription.account_id}:{subscription.topic.name}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
        ),
    }
    if subject:
        post_data["Subject"] = subject
    if message_attributes:
        post_data["MessageAttributes"] = message_attributes
    return post_data


def clear() -> None:
    with _signing_lock:
        _signing_certificates.clear()


SNS_SIGNING = registry.PatchSet(
    "sns_signing",
    [
        registry.Patch(
            _SNS_POST_DATA, _sns_post_data, "one signing certificate per subscription key, not per message"
        )
    ],
    reads=[
        (used_by_signing, "SNS envelopes signed as moto signs them")
        for used_by_signing in (
            "moto.sns.models.Subscription.private_key",
            "moto.sns.models.sns_backends",
            "moto.sns.models.DEFAULT_ACCOUNT_ID",
            "moto.sns.models.utcnow",
            "moto.sns.models.iso_8601_datetime_with_milliseconds",
            "moto.sns.models",
            "moto.sns.models.mock_random",
            "moto.sns.models.mock_random.uuid4",
            "moto.sns.models.SNSBackend",
            "moto.sns.models.SNSBackend._message_public_keys",  # the PEMs moto serves
        )
    ],
)
