"""MaxSmart / Revogi power strips and plugs (local HTTP port 80, UDP 8888 discovery)."""
