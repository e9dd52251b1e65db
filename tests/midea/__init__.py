"""Tests of the Midea / Comfee family, its emulator and its fidelity to other libraries."""
