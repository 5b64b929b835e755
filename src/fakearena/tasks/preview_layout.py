"""The layout of the face swap's training preview (`FaceSwapTask.preview_grid`), in a module
light enough for the report to read the grid back without importing Lightning."""

# one column per view of a face pair, left to right (ASCII: the report's font has no arrows)
PREVIEW_COLUMNS = ("source A", "A rebuilt", "swap A->B", "source B", "B rebuilt", "swap B->A")
PREVIEW_PADDING = 2  # white pixels between and around the faces (torchvision's make_grid)
