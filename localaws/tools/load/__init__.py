"""``orderflow load``: a load and chaos harness that checks the order promise after every run."""
