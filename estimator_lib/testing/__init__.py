"""Test helpers for estimator_lib users and its own tests (contract suites)."""
