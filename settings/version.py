"""newsmon's version, in one place: pyproject.toml reads it (setuptools ``attr``), and so does the code.

newsmon installs as three subpackages of the ``newsmon`` namespace, one per top-level folder of
the repository: ``newsmon.settings`` (configuration model and validation), ``newsmon.crawler``
(everything that runs inside Scrapy) and ``newsmon.scheduler`` (the daemon, Redis store, feed
and CLI). ``newsmon`` itself has no ``__init__``, so no folder named ``newsmon`` in the working
directory can shadow the installed package.
"""

__version__ = "0.1.0"
