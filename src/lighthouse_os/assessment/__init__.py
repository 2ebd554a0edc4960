"""Assessment: scoring, prioritisation and roadmap cores for framework packs."""
