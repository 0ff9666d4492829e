"""``orderflow cost``: the deployed stack on paper (transitions, dollars, quotas)."""
