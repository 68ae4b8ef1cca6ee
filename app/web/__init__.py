"""The browser page: one HTML document, a stylesheet and an ES module, all served by this app."""
