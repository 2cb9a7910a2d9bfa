"""Exception raised when a tile cannot be read."""


class TileReadError(ValueError):
    """A file that is empty, truncated, not an image or in an unsupported layout.

    The message names the file, what is wrong with it and what to do.
    """
