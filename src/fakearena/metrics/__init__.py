"""Metrics: FID/KID on Inception features (`inception`, `fid`, `reference`), reconstruction
(`reconstruction`), detection (`detection`: AUC, AP, EER, TPR@FPR, video level, CIs) and the
predictions tables every detector score goes through (`predictions`)."""
