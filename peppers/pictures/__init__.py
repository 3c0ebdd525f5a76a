"""Pictures of images: quicklook PNGs with colour bar and scale (``pep show``).

- :mod:`.colormaps` -- cyclic phase, grey and terrain ramps; hillshade;
- :mod:`.decimate` -- reading an image small in bounded memory;
- :mod:`.locate` -- finding an image of a run, guessing its kind, its
  ground pixel size;
- :mod:`.figure` -- title, picture, colour bar and scale bar on one canvas;
- :mod:`.quicklook` -- all of it: :func:`quicklook`.
"""

from peppers.pictures.quicklook import Quicklook, quicklook

__all__ = ["Quicklook", "quicklook"]
