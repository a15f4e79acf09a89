"""Plot and list widgets of the GUI."""
