"""Image transforms: training augmentation (`augment`), evaluation perturbations (`perturb`)
and the face-swap autoencoder's paired warps (`warp`)."""
