"""Device families (vendors).

Each package supplies its client, discovery, coordinator settings and entity descriptions.
"""
