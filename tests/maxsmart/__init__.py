"""Tests for the maxsmart family."""
