"""Plain run functions that take a composed config: what the CLI and the tests call."""
