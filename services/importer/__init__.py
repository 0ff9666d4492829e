"""Imports order files dropped in S3 (a JSON array or JSON Lines): each valid order goes on the bus."""
