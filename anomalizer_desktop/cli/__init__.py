"""Command line front end (no Qt)."""
