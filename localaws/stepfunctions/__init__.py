"""Step Functions features for local testing: MockConfigFile test cases, reading execution histories, the
execution status-change events on the default bus, and the scale of the engine's own waits."""
