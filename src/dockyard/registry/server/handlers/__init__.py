"""The registry's request handlers, one module per noun (blobs, uploads, manifests, listings, token)."""

__all__: list[str] = []
