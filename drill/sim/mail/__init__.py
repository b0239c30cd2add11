"""Mailboxes of the simulated tenant and their Outlook routes on Graph."""
