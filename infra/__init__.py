"""The orderflow infrastructure: one stack that composes one construct per service."""
