"""Stage 3, the toolchain: a Python and requirements in, a pinned set and a built env out.

``resolve`` and ``build`` dispatch to one ``installer.Installer`` per family of Pythons
(``uv`` for 3.6+, ``py27`` for 2.7); ``syspkgs`` adds Debian libraries rootless,
``legacy`` lets old ``setup.py`` files build, and ``store`` sizes and prunes the result.
"""
