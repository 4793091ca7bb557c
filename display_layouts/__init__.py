"""Layouts (what goes where on a board) and the pygame renderer that draws them."""
