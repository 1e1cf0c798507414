"""A 2019-era web helper that newer releases broke (configuration drift).

Werkzeug 1.0 stopped re-exporting ``secure_filename`` from the package root, and
Jinja2 3.1 removed ``Markup`` and ``escape``. ``driftdoc run drifted.py`` finds
releases that still have both and reports each repair as drift.
"""
from jinja2 import Markup, escape
from werkzeug import secure_filename

upload = secure_filename("../../etc/passwd")
print(Markup("<b>%s</b>") % escape("<script>"), upload)
