"""`dvc plots show` / `dvc plots diff` pages render offline: checked in a real headless Chromium, no network."""

from __future__ import annotations

import re

import pytest

from mlkit.core.errors import PipelineError
from mlkit.testing import ROOT, Project
from mlkit.testing.browser import CHROMIUM, NO_CHROMIUM, rendered
from mlkit.tools import offline_plots


def test_template_inlines_the_libraries_dvc_references() -> None:
    versions = offline_plots.check()  # the versions dvc-render's CDN tags name, intact (sha256)
    assert set(versions) == {"vega", "vega-lite", "vega-embed"}
    text = offline_plots.TEMPLATE.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", text), "the template must not load any script from elsewhere"
    assert text.count("BSD-3-Clause") >= 1 and text.count("Redistribution and use in source and binary") == 3

    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:  # .dvc/config points plain `dvc plots show/diff` at it
        assert repo.config["plots"]["html_template"] == offline_plots.CONFIG_VALUE
    assert (ROOT / ".dvc" / offline_plots.CONFIG_VALUE).resolve() == offline_plots.TEMPLATE


def test_check_refuses_a_template_that_does_not_match(tmp_path) -> None:
    text = offline_plots.TEMPLATE.read_text(encoding="utf-8")
    stale = tmp_path / "stale.html"
    stale.write_text(text.replace("<!-- vega-lite 5.2.0 ", "<!-- vega-lite 5.1.0 ", 1), encoding="utf-8")
    with pytest.raises(PipelineError, match="vega-lite: DVC references 5.2.0, the template holds 5.1.0"):
        offline_plots.check(stale)
    edited = tmp_path / "edited.html"
    edited.write_text(text.replace('var e="5.20.2"', 'var e="5.20.3"', 1), encoding="utf-8")
    with pytest.raises(PipelineError, match="vega: the inlined code does not match its recorded sha256"):
        offline_plots.check(edited)


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_plots_show_and_diff_render_offline(project: Project) -> None:
    project.dvc("repro")
    shown = project.dvc("plots", "show")  # plain: the template comes from .dvc/config
    page = project.file("dvc_plots/index.html")
    assert page.is_file(), shown.stdout
    verdict = rendered(page)
    assert len(verdict) >= 4 and not any(verdict.values()), verdict  # dvc.yaml's 4 plots at least

    project.commit("run")
    project.set_params(model={"C": 0.05})
    project.dvc("repro")
    project.dvc("plots", "diff", "HEAD", "-o", "diff_plots")  # workspace against the last commit
    diff_page = project.file("diff_plots/index.html")
    assert "HEAD" in diff_page.read_text(encoding="utf-8")
    verdict = rendered(diff_page)
    assert len(verdict) >= 4 and not any(verdict.values()), verdict  # dvc.yaml's 4 plots at least

    # The same project with DVC's default page: it loads the libraries from a CDN, so nothing renders
    # under the same conditions (this is what the test would see if the template were not used).
    project.dvc("config", "--unset", "plots.html_template")
    project.dvc("plots", "show", "-o", "cdn_plots")
    cdn_page = project.file("cdn_plots/index.html")
    assert "cdn.jsdelivr.net/npm/vega@" in cdn_page.read_text(encoding="utf-8")
    verdict = rendered(cdn_page)
    assert len(verdict) >= 4 and all(verdict.values()), verdict

