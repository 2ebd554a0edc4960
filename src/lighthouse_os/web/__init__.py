"""Server-rendered web UI: templates, i18n, static assets, error pages."""
