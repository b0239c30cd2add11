"""Evidence: the drill record, its signed bundle (JSON, HTML, PDF, screenshots, log), the ledger, verify."""
