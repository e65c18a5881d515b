"""Typed IR nodes and printer."""
