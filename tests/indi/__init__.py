"""Tests for the indi family."""
