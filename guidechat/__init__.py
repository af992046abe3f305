"""guidechat: cited answers from clinical guideline documents."""

__version__ = "0.1.0"
