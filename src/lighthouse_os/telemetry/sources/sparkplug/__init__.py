"""Sparkplug B over MQTT: our own schema of the payload, the topic namespace and node state."""
