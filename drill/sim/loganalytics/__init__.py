"""Log Analytics of the simulated tenant: the workspace tables, the query API, and log search alert rules."""
