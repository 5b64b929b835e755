"""Lightning modules, one per task; the network is injected by config."""
