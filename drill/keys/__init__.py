"""Security keys: hardware through python-fido2, and a software CTAP2 key on the very same path."""
