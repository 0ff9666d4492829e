"""What orderflow adds to LocalStack: a DynamoDB served by moto (``providers.py``)."""
