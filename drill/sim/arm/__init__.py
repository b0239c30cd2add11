"""Azure Resource Manager as the simulator serves it: the deployed monitoring, read-only."""
