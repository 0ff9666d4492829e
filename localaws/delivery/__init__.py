"""What AWS delivers between services and moto does not: one module per mechanism.

EventBridge rules to their targets, SQS and Kinesis event sources (sharing ``event_source_mapping``), SNS
subscriptions to Lambda, CloudWatch alarm evaluation, and the retry queue of asynchronous deliveries.
"""
