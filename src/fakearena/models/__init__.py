"""fakearena.models."""
