"""The course as a static book: ``python -m book`` builds every chapter into ``build/book/``."""
