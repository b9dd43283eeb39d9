"""Inbound mail: what the sites send back to the service's mailbox (calendar replies,
proposals of another time, bounces, plain replies), read over IMAP and applied once."""
