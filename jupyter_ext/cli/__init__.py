"""Command-line faces of the rooms that are not processes of their own."""
