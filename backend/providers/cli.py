"""`smartbcc providers ...` commands (filled in with the providers)."""
COMMANDS: list = []
