"""Retrowaves tower (cut down to what the mtest demo needs)."""
