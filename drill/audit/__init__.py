"""The keyless posture audit of the whole recommended break-glass design (`drill audit PLAYBOOK`)."""
