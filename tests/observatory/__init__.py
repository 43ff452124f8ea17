"""Tests of the observatory app."""
