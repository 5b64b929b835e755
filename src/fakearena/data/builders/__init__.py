"""Dataset builders: public dataset trees -> video-level manifests."""
