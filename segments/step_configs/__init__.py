"""Pure pydantic config models, one module per step type."""
