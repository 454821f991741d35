"""ipledge: IP pledge financing platform (知识产权质押融资入园惠企)."""

__version__ = "0.1.0"
