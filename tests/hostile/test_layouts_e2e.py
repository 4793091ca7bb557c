"""`signage-agent run`, the real process: a layouts folder with a bomb, a NaN layout and a
cached playlist that uses it must not stop the board or put it in a crash loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.test_layouts_files import BOMBS, NOTICE
from tests.support import AgentProcess, playlist, text_item, write_config

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
            log = agent.wait_log('"type":"heartbeat"', timeout=30)
            assert (f"layout file {layouts / 'bomb.yaml'} skipped" in log) == with_bomb
            assert f"layout file {layouts / 'nan_box.yaml'} skipped" in log
            assert '"kind":"playback.started","item_id":"nan"' not in log
            assert "Traceback" not in log
            assert agent.alive()
        finally:
            code = agent.terminate(timeout=20)
        assert code == 0
