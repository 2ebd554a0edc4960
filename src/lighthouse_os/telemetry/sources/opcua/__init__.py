"""OPC UA subscriptions: a node map (YAML) to site tags, with reconnect and re-subscribe."""
