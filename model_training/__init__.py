"""From toasting data to a verified model package (README.md in this folder).

sources/ (simulated, logs) -> runs.py (runs, splits, data set hash) -> table.py (features
via firmware/features.py) -> train.py (MLP) -> export.py (int8, verification) ->
package.py (model.tflite + model.json, PACKAGE.md) -> replay.py (the firmware's own model
policy on MicroPython) -> stop_time.py + card.py (evaluation against the fixed timer).
pipeline.py wires the steps for `toaster train`, `toaster export` and `toaster model card`.
"""
