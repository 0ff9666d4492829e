"""The one patch lifecycle: a PatchSet goes in and comes out whole; PatchesInUse keeps one in while needed."""

from __future__ import annotations

from moto.events.utils import EventTemplateParser
from moto.sqs import models as sqs_models

from localaws.patches import registry

TARGET = "moto.sqs.models.Queue.__repr__"
STATIC_TARGET = "moto.events.utils.EventTemplateParser._stringify"


def _repr_patch() -> registry.PatchSet:
    return registry.PatchSet("test", [registry.Patch(TARGET, lambda self: "patched", "test")])


def test_a_patch_set_goes_in_once_and_comes_out_whole() -> None:
    # Given a patch set over a plain method and a staticmethod
    original = sqs_models.Queue.__repr__
    original_static = vars(EventTemplateParser)["_stringify"]
    patches = registry.PatchSet(
        "test",
        [
            registry.Patch(TARGET, lambda self: "patched", "test"),
            registry.Patch(STATIC_TARGET, staticmethod(lambda value: "patched"), "test"),
        ],
    )
    assert registry.TouchedInternal(TARGET, "test", __name__) in registry.registered()

    # When it is installed twice
    patches.install()
    patches.install()

    # Then both are replaced, and one uninstall restores exactly what moto's classes held
    assert patches.installed
    assert EventTemplateParser._stringify("x") == "patched"
    patches.uninstall()
    assert not patches.installed
    assert sqs_models.Queue.__repr__ is original
    assert vars(EventTemplateParser)["_stringify"] is original_static
    assert EventTemplateParser._stringify(1) == "1"


def test_patches_stay_in_while_any_instance_runs() -> None:
    # Given a patch shared by instances in two regions
    original = sqs_models.Queue.__repr__
    users = registry.PatchesInUse[str](_repr_patch())
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
    users = registry.PatchesInUse[str](_repr_patch())
    users.acquire("old", account_id="1", region="us-east-1")
    users.acquire("new", account_id="1", region="us-east-1")
    users.release("old", account_id="1", region="us-east-1")
    assert users.running("1", "us-east-1") == "new"
    users.release("new", account_id="1", region="us-east-1")
    assert users.running("1", "us-east-1") is None
