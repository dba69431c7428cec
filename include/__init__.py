"""Churn early-warning platform: configuration, ingestion, data quality, warning operations, publishing."""
