"""Midea / Comfee dehumidifiers (0xA1) and air conditioners (0xAC): LAN V2/V3, NetHome Plus."""
