"""Face extraction: video decoding (`video`), MTCNN detection and 5-point alignment
(`detect`), what an `input=` names (`inputs`), crops plus a frame-level manifest (`extract`),
and the `fakearena faces extract` command (`cli`)."""
