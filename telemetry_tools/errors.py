"""The tools' one error: a user error, printed as one line naming the cause (never a traceback).

ToolError            bad input (a flag, a setting, a file) or a refusal from AWS, said in one line
"""


class ToolError(Exception):
    """Something the user can fix; the message says what and where."""
