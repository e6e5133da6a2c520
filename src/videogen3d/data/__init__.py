"""Data: decoding and writing video, frame banks, the frame slider, sources and datamodules."""
