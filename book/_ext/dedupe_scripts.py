"""Drop exact-duplicate <script> entries from each page.

sphinx-thebe 0.3.1 registers its inline configuration on ``env-before-read-docs``, which Jupyter Book 1.x
fires twice, so pages declared ``const THEBE_JS_URL`` twice: a console error in every browser.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for js in context.get("script_files", []):
        # same file (or inline body) and attributes, whatever the priority it was registered with
        # (inline scripts come with filename None or "", depending on who registered them)
        key = (getattr(js, "filename", None) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
