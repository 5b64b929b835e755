"""Metrics: FID/KID, reconstruction, detection (AUC, AP, EER, TPR@FPR, video level, CIs)."""
