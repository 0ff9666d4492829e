"""Patches shared by every running delivery of a kind: in with the first, out with the last."""

from __future__ import annotations

from moto.sqs import models as sqs_models

from localaws.patches import registry

TARGET = "moto.sqs.models.Queue.__repr__"


def test_patches_stay_in_while_any_instance_runs() -> None:
    # Given a patch shared by instances in two regions
    original = sqs_models.Queue.__repr__
    users = registry.PatchesInUse[str]([(TARGET, lambda self: "patched", "test")])
    # When the first starts, the patch is in and each region finds its own instance
    users.acquire("east", account_id="1", region="us-east-1")
    users.acquire("west", account_id="1", region="us-west-2")
    assert sqs_models.Queue.__repr__ is not original
    assert users.running("1", "us-west-2") == "west"
    assert users.running("2", "us-east-1") is None
    # When one stops, the patch stays for the other
    users.release("east", account_id="1", region="us-east-1")
    assert sqs_models.Queue.__repr__ is not original
    assert users.running("1", "us-east-1") is None
    # When the last stops, moto's own code is back
    users.release("west", account_id="1", region="us-west-2")
    assert sqs_models.Queue.__repr__ is original


def test_releasing_an_instance_that_was_replaced_keeps_the_replacement() -> None:
    users = registry.PatchesInUse[str]([(TARGET, lambda self: "patched", "test")])
    users.acquire("old", account_id="1", region="us-east-1")
    users.acquire("new", account_id="1", region="us-east-1")
    users.release("old", account_id="1", region="us-east-1")
    assert users.running("1", "us-east-1") == "new"
    users.release("new", account_id="1", region="us-east-1")
    assert users.running("1", "us-east-1") is None
