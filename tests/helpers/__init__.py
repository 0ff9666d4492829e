"""Helpers shared by the test suites.

- ``tests.helpers.events``: the payloads stored in ``tests/events``, and SQS/Kinesis events built from them.
- ``tests.helpers.templates``: the message body of a stored event template.
- ``tests.helpers.lambda_context``: ``FakeLambdaContext``, a stand-in Lambda context.
"""
