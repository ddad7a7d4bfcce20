"""LINE channel: webhook adapter and sender, the only modules that import linebot."""
