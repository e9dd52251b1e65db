"""Tests for the meross family."""
