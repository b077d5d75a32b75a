"""Engineering measurements behind the library's design choices; run each as ``python -m benchmarks.<name>``."""
