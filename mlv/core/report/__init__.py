"""``mlv report``: gather what a self-contained HTML report shows (``gather.build_report``)."""
