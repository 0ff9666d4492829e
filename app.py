#!/usr/bin/env python3
"""The CDK app: one orderflow stack, named by the ``prefix`` context value."""

from __future__ import annotations

import aws_cdk as cdk

from infra.app import build_app

app = cdk.App()
build_app(app)
app.synth()
