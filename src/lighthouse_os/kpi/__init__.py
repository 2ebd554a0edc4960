"""KPIs: ISO 22400-2 time model and OEE, energy and power factor, GHG emissions."""
