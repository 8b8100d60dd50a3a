"""Monitoring: drift, data quality and performance of production data against the reference."""
