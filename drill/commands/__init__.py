"""Command groups, one module per area; each imports its heavy libraries inside the command."""
