"""qa: question answering over a folder of news articles, with checked citations."""

__version__ = "0.1.0"
