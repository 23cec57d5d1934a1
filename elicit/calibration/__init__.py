"""From signals to calibrated confidence: fusion head, calibrators, metrics, fitting, reports."""
