"""The professional disclaimer shown after every answer, abstentions included."""

DISCLAIMER = (
    "For healthcare professionals and for education only: this is not medical advice and not a "
    "substitute for professional clinical judgment. Answers quote the indexed guidelines and may be "
    "incomplete or out of date; verify against the primary sources before acting."
)
