"""Model files shipped with Kenning, their manifest, and the ONNX Runtime sessions that run them."""
