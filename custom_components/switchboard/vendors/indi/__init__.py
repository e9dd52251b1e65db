"""INDI instrument servers (INDI XML over TCP 7624, push by nature)."""
