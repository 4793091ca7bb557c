"""`signage-agent run`, the real process: a layouts folder with a bomb, a NaN layout and a
cached playlist that uses it must not stop the board or put it in a crash loop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hostile.test_layouts_files import BOMBS, NOTICE
from tests.support import REPO, AgentProcess, playlist, text_item, wait_until, write_config

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("with_bomb", [True, False], ids=["bomb-and-nan", "nan-only"])
def test_a_board_with_a_layout_bomb_and_a_poisoned_cache_starts_and_keeps_starting(
    tmp_path: Path, with_bomb: bool
) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "notice.yaml").write_text(NOTICE, encoding="utf-8")
    if with_bomb:
        (layouts / "bomb.yaml").write_text(BOMBS["deep-flow"], encoding="utf-8")
    nan_box = BOMBS["nan-box"].replace("name: bomb", "name: nan_box")
    (layouts / "nan_box.yaml").write_text(nan_box, encoding="utf-8")
    config = write_config(tmp_path, port=None)
    # Content cached by an earlier run that still accepted the NaN layout.
    cache = tmp_path / "state" / "content"
    cache.mkdir(parents=True)
    poisoned = {"id": "nan", "layout": "nan_box", "fields": {"a": "NaN"}}
    (cache / "commune.json").write_bytes(playlist(7, [poisoned, text_item("ok", "Vẫn chạy")]))
    env = {"SIGNAGE_DISPLAY__LAYOUTS_DIR": str(layouts)}
    for run in range(2):  # what systemd would do after an exit: the same files again
        agent = AgentProcess(config, tmp_path / f"agent{run}.log", env=env).start()
        try:
            log = agent.wait_log('"kind":"playback.started","item_id":"ok"', timeout=30)
            agent.wait_log("item nan is not shown: unknown layout 'nan_box'", timeout=30)
            log = agent.wait_log("INFO agent.core: heartbeat ", timeout=30)
            assert (f"layout file {layouts / 'bomb.yaml'} skipped" in log) == with_bomb
            assert f"layout file {layouts / 'nan_box.yaml'} skipped" in log
            assert '"kind":"playback.started","item_id":"nan"' not in log
            assert "Traceback" not in log
            assert agent.alive()
        finally:
            code = agent.terminate(timeout=20)
        assert code == 0


# Loaded by the agent's interpreter at start (Python imports `sitecustomize` from its
# path): every QR zone fails to paint, as a bug in that zone type would.
BROKEN_QR = """\
from display_layouts.zones.qr import QrZone


def _broken(self, paint, rect):
    raise RuntimeError("injected renderer fault")


QrZone.paint = _broken
"""


def test_a_renderer_fault_in_one_zone_type_leaves_the_board_running(tmp_path: Path) -> None:
    from tests.hostile.test_layouts_faults import QR_NOTICE, qr_item

    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "qr_notice.yaml").write_text(QR_NOTICE, encoding="utf-8")
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(BROKEN_QR, encoding="utf-8")
    cache = tmp_path / "state" / "content"
    cache.mkdir(parents=True)
    items = [qr_item(), text_item("ok", "Vẫn chạy", duration_s=1)]
    (cache / "commune.json").write_bytes(playlist(1, items))
    config = write_config(tmp_path, port=None, heartbeat_s=1)
    # The repository first: sitecustomize runs before `python -m` puts it on the path.
    path = os.pathsep.join([str(REPO), str(inject)])
    env = {"SIGNAGE_DISPLAY__LAYOUTS_DIR": str(layouts), "PYTHONPATH": path}
    agent = AgentProcess(config, tmp_path / "agent.log", env=env).start()
    try:
        agent.wait_log('"kind":"playback.started","item_id":"ok"', timeout=30)
        agent.wait_log("INFO agent.core: heartbeat ", timeout=30)  # heartbeats go on
        played = '"kind":"playback.started","item_id":"ok"'
        wait_until(lambda: agent.log().count(played) >= 3, 30, "slot after slot")
        log = agent.log()
        assert agent.alive()
        errors = [line for line in log.splitlines() if '"kind":"display.error"' in line]
        assert len(errors) == 1, errors
        assert "item qr (commune) cannot be drawn with layout qr_notice" in errors[0]
        assert "injected renderer fault" in errors[0]
        assert '"kind":"playback.started","item_id":"qr"' not in log
        assert log.count('"kind":"playback.started","item_id":"ok"') >= 2
    finally:
        code = agent.terminate(timeout=20)
    assert code == 0
