"""Ingestion sources (MQTT JSON, Sparkplug B, OPC UA), shaped like Home Assistant integrations."""
