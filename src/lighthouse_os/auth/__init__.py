"""Identity and tenancy: organisations, sites, users, roles, consent, API tokens, audit."""
