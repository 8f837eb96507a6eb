"""pyrunsc command line: thin click commands over ``runtime``."""
