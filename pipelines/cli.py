"""`estpipe`: the command line of the project."""
def main(argv=None):
    raise SystemExit("not yet")
