"""Step Functions features for local testing: MockConfigFile test cases, reading execution histories, the
execution status-change events on the default bus, the scale of the engine's own waits, and keeping the
engine's log line per workflow failure (which the history holds) out of the terminal."""
