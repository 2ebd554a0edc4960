"""Framework packs: versioned, bilingual maturity frameworks stored as YAML data."""
