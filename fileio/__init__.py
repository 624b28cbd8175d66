"""File writing shared by every package of the project (`fileio.atomic`); imports none of them."""
