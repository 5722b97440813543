"""Optimisation: the one loop (L-BFGS or Adam) that steps an image against an objective."""
