"""What the services share: the public event contract, message shapes, and observability."""
