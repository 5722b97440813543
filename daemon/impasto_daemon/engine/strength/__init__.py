"""A strength that means the same on every picture: what "the photo kept" is (photo_kept.py)
and the governor that moves the style weight to keep the strength's share of it (governor.py)."""
