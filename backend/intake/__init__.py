"""Receiving mail: the SMTP handler, the HTTP inbound endpoint and their shared acceptance checks."""
