"""Lambda services of the order workflow. Each package is deployed from this folder as one asset."""
