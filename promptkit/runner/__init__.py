"""The regression runner: test-case files -> rendered prompts -> model calls (live or
replayed) -> assertions -> results. litellm is imported only when a live call is made."""
