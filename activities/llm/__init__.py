"""The `llm_agent` step: model providers behind one protocol, and the activity that calls them."""
