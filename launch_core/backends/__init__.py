"""The backends: the resource, builder and registry interfaces, the table of
implementations (``table``), and one module (or folder) per implementation."""
