"""Chromium for the drill: where to find it, how to launch it, the sign-in script and the WebAuthn bridge."""
