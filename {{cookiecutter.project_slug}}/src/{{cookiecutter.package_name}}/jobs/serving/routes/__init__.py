"""The API's routes, one module per group: predict (the hot path), feedback, operations."""
