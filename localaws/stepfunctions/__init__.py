"""Step Functions features for local testing: MockConfigFile test cases, and reading execution histories."""
