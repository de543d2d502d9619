"""`smartbcc manifest ...` commands (filled in with the add-ins)."""
COMMANDS: list = []
