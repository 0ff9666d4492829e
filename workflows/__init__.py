"""The order workflow: a Step Functions state machine defined with the CDK."""
