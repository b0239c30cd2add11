"""`drill setup`: from an empty tenant to a first drill, through a plan an administrator (and a change board)
reads before anything changes."""
