"""Running one drill: the step sequence, the signal-safe loop around it, and the live and demo wirings."""
