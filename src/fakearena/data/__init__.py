"""Data: manifests, datasets, the DataModule, synthetic faces, face extraction, builders."""
