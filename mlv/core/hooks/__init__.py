"""Git hooks: what each hook decides (``checks``: pre-commit, post-checkout, pre-push) and
installing or removing mlv's hook scripts (``install``)."""
