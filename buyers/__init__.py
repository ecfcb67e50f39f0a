"""The buyer portal and buyer API: inbox, purchases, campaigns."""
