"""The start-up warm-up imports the CLAP modules only where the first scan will need them."""

from __future__ import annotations

from anomalizer_desktop.core.embedding import weights
from anomalizer_desktop.core.errors import WeightsUnavailableError
from anomalizer_desktop.gui import warmup


def test_without_clap_weights_transformers_is_not_warmed(monkeypatch):
    def missing(variant, **kwargs):
        raise WeightsUnavailableError(f"no weights for {variant}")

    monkeypatch.setattr(weights, "resolve_weights", missing)
    assert warmup.modules_to_warm() == warmup.MODULES


def test_with_clap_weights_the_clap_modules_are_warmed_too(monkeypatch):
    asked = []
    monkeypatch.setattr(weights, "resolve_weights",
                        lambda variant, **kwargs: asked.append((variant, kwargs)) or object())
    assert warmup.modules_to_warm() == warmup.MODULES + warmup.CLAP_MODULES
    assert asked == [("clap-fused", {"allow_download": False})]   # never the network


def test_a_failing_weights_check_only_skips_the_clap_modules(monkeypatch):
    def broken(variant, **kwargs):
        raise OSError("unreadable weights folder")

    monkeypatch.setattr(weights, "resolve_weights", broken)
    assert warmup.modules_to_warm() == warmup.MODULES


def test_with_clap_weights_the_windows_encoder_is_built_once_at_start_up(monkeypatch):
    from anomalizer_desktop.core import embedding

    monkeypatch.setattr(warmup, "modules_to_warm", lambda name: warmup.CLAP_MODULES)
    asked = []
    real = embedding.make_encoder

    def fake(name="auto", **kwargs):
        if name == "spectral":
            return real(name)
        asked.append((name, kwargs))
        return type("Built", (), {"name": name})()

    monkeypatch.setattr(embedding, "make_encoder", fake)
    done = warmup.warm_up("auto")
    assert asked == [("clap-fused", {"shared": True})]   # the one the jobs will ask for
    assert "clap-fused encoder" in done and "signal checks and spectral-encoder" in done
    asked.clear()
    warmup.warm_up("clap-music")
    assert asked == [("clap-music", {"shared": True})]


def test_the_offline_encoder_setting_warms_no_clap(monkeypatch):
    monkeypatch.setattr(weights, "resolve_weights", lambda variant, **kwargs: object())
    assert warmup.modules_to_warm("spectral") == warmup.MODULES
    assert warmup.modules_to_warm("clap-music") == warmup.MODULES + warmup.CLAP_MODULES
