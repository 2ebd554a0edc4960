"""MQTT JSON topic convention `lhos/<site>/<tag path>`: broker client and message decoder."""
