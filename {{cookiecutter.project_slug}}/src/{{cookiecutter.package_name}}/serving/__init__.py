"""Serving: the online API (shadow and canary), batch scoring and the prediction log."""
