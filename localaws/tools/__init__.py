"""What users run: the ``orderflow`` CLI, the demo, the terminal watch, and the order helpers they share."""
