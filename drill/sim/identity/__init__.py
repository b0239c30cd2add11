"""The simulated Entra identity platform: OIDC and tokens, sign-in pages, WebAuthn, Conditional Access."""
