"""Built-in data sets, generators, and parsing of the user's uploads."""
