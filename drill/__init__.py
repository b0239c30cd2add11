"""breakglass-drill: prove that an Entra emergency-access account still works and is still watched."""

__version__ = "0.1.0"
