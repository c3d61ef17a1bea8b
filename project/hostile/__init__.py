"""The hostile-input suite: attacks on every door of the running system, judged by what the
other doors' honest clients saw meanwhile and by what was stored (see README.md)."""
