"""Image loading and caption datasets."""
