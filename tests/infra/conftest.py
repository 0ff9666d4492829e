from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.app import build_app
from infra.stack import OrderflowStack

PREFIX = "zz9"


@pytest.fixture(scope="session")
def stack() -> OrderflowStack:
    app = cdk.App(context={"prefix": PREFIX})
    return build_app(app)


@pytest.fixture(scope="session")
def template(stack: OrderflowStack) -> Template:
    return Template.from_stack(stack)
