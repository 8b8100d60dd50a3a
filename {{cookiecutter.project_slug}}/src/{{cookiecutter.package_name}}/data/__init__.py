"""Data stages: validate raw data, split it, and infer a schema for new data (`data init`)."""
