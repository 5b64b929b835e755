"""Data: manifests (`manifest`), media files (`media`), datasets and the DataModules
(`datasets`, `datamodule`, `identities`), transforms (`transforms/`), the built-in synthetic
faces (`synthetic/`) and builders of public datasets (`builders/`)."""
