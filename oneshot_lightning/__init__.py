"""One-shot image restoration: learn deblurring or super-resolution from one image pair."""

__version__ = "0.1.0"
