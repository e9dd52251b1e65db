"""Device emulators that speak each vendor's real protocol (see docs/protocols/).

Every emulator is an asyncio server that runs in the caller's event loop, listens on an address
and ports the caller chooses (port 0 picks a free one) and offers fault injection for tests.
"""
