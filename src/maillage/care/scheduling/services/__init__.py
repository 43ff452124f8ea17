"""The scheduling logic, as plain functions: slot generation and booking."""
