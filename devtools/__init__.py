"""Development tooling behind ``scripts/develop`` (not shipped with the integration)."""
