"""The development stack behind ``scripts/develop``: emulators and Home Assistant.

See :mod:`devtools.develop.orchestrator` for the stacks, the interactive run and ``--check``.
"""
