"""Telemetry from the toaster: framing, recorder, session files, report, export."""
