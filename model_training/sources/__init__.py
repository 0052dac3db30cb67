"""Data sources: where toasting runs come from (model_training.runs.Run).

- simulated: the virtual toaster (hardware/simulator), sampled as the firmware samples
- logs: a folder of labelled CSV logs, channels described by a log format (JSON)
- telemetry: the project's own telemetry sessions (model_training/feedback.py)
"""
