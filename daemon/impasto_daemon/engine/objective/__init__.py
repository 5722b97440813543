"""The objective: what one evaluation scores, the whole image at once (whole.py) or tile by
tile with the same loss and gradient (tiled.py), from the pieces in losses.py."""
