"""Lightning tasks behind one interface (`base.Task`): detect, gan, faceswap; the network is
injected by config (`detector=` or `generator=`, the group the task's class names)."""
