"""What both Media Handler services share: settings readers, JSON errors, health, request ids.

Kept deliberately small. The services never import each other; anything here must be true of
both of them.
"""
