"""Colour transfers of a swapped face onto its target, inside a (soft) mask: DeepFaceLab's RCT
and LCT.

- `reinhard_transfer` (RCT, Reinhard et al. 2001 as DeepFaceLab applies it): per-channel mean
  and standard deviation matched in CIE L*a*b* (D65), where lightness and the two colour axes
  are nearly independent, so a skin-tone shift does not change the features' contrast.
- `linear_transfer` (LCT, DeepFaceLab's `linear_color_transfer`, mode `pca`): the face's RGB
  mean and 3x3 covariance mapped onto the target's with the symmetric square roots of the two
  covariances, `x' = S_t^(1/2) S_f^(-1/2) (x - m_f) + m_t`, so correlated channels move
  together.
Statistics are mask-weighted means over the pixels; images are float (H,W,3) in [0,1] and
the results are not clipped (the blend clips).
"""

from __future__ import annotations

import numpy as np

# sRGB (D65) -> linear -> XYZ -> L*a*b*, the formulas of IEC 61966-2-1 and CIE 15
_RGB_TO_XYZ = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_EPSILON = (6.0 / 29.0) ** 3
_KAPPA = (29.0 / 6.0) ** 2 / 3.0


def _srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)


def _linear_to_srgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.maximum(rgb, 0.0)
    return np.where(rgb > 0.0031308, 1.055 * rgb ** (1.0 / 2.4) - 0.055, 12.92 * rgb)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB in [0, 1] -> CIE L*a*b* (L in [0, 100]), D65 white."""
    xyz = _srgb_to_linear(np.asarray(rgb, np.float64)) @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), _KAPPA * xyz + 4.0 / 29.0)
    lightness = 116.0 * f[..., 1] - 16.0
    a, b = 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_lab` (out-of-gamut values are not clipped above 1)."""
    lab = np.asarray(lab, np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > 6.0 / 29.0, f**3, (f - 4.0 / 29.0) / _KAPPA) * _WHITE_D65
    return _linear_to_srgb(xyz @ np.linalg.inv(_RGB_TO_XYZ).T)


def _weights(mask: np.ndarray) -> np.ndarray:
    weights = np.asarray(mask, np.float64).reshape(-1)
    if weights.sum() <= 0:
        raise ValueError("the colour-transfer mask is empty (all zeros)")
    return weights / weights.sum()


def _moments(pixels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean (3,) and covariance (3,3) of (N,3) pixels."""
    mean = weights @ pixels
    centred = pixels - mean
    return mean, (centred * weights[:, None]).T @ centred


def reinhard_transfer(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RCT: `face` with its masked L*a*b* mean and std set to `target`'s (float (H,W,3))."""
    weights = _weights(mask)
    face_lab = rgb_to_lab(face).reshape(-1, 3)
    target_lab = rgb_to_lab(target).reshape(-1, 3)
    face_mean, face_cov = _moments(face_lab, weights)
    target_mean, target_cov = _moments(target_lab, weights)
    scale = np.sqrt(np.diag(target_cov)) / np.maximum(np.sqrt(np.diag(face_cov)), 1e-6)
    out = (face_lab - face_mean) * scale + target_mean
    return lab_to_rgb(out).reshape(np.shape(face))


def _symmetric_power(cov: np.ndarray, power: float, eps: float) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov + eps * np.eye(3))
    return (vectors * np.maximum(values, eps) ** power) @ vectors.T


def linear_transfer(
    face: np.ndarray, target: np.ndarray, mask: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """LCT: `face` with its masked RGB mean and covariance mapped onto `target`'s."""
    weights = _weights(mask)
    face_px = np.asarray(face, np.float64).reshape(-1, 3)
    target_px = np.asarray(target, np.float64).reshape(-1, 3)
    face_mean, face_cov = _moments(face_px, weights)
    target_mean, target_cov = _moments(target_px, weights)
    transform = _symmetric_power(target_cov, 0.5, eps) @ _symmetric_power(face_cov, -0.5, eps)
    out = (face_px - face_mean) @ transform.T + target_mean
    return out.reshape(np.shape(face))
