"""The self-contained HTML report of ``mlv report``: page (``page``) and charts (``charts``)."""
