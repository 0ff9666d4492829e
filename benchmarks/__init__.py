"""``make bench``: how fast the embedded local AWS runs, against stock moto and a local peer."""
