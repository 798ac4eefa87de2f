"""Tests of cs231n_lib.i18n: whose language messages are printed in, and the .po catalogues.

The language comes from use(), $CS231N_LANG or the notebook named by $JPY_SESSION_NAME, never
from the locale; a catalogue is compiled from its .po in memory; English is the fallback.
The last test starts a real kernel the way Jupyter Server does for a notebook and asks it.
"""

import json
import sys
import textwrap

import pytest

from cs231n_lib import i18n
from cs231n_lib.i18n import (
    CHINESE,
    ENGLISH,
    Messages,
    catalogue,
    language,
    normalise,
    notebook_language,
    use,
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in (i18n.ENV_VAR, i18n.SESSION_VAR, i18n.LAB_VAR):
        monkeypatch.delenv(var, raising=False)


def _notebook(path, lang=None):
    meta = {"cs231n": {"release": "x", **({"lang": lang} if lang else {})}}
    path.write_text(json.dumps({"cells": [], "metadata": meta, "nbformat": 4, "nbformat_minor": 5}))
    return path


def _po(folder, domain, entries, plural=True):
    """Write folder/zh_CN/LC_MESSAGES/<domain>.po with {msgid: msgstr}."""
    po = folder / "zh_CN" / "LC_MESSAGES" / f"{domain}.po"
    po.parent.mkdir(parents=True, exist_ok=True)
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n'
    if plural:
        header += '"Plural-Forms: nplurals=1; plural=0;\\n"\n'
    body = "".join(f"\nmsgid {json.dumps(k, ensure_ascii=False)}\nmsgstr {json.dumps(v, ensure_ascii=False)}\n"
                   for k, v in entries.items())
    po.write_text(header + body, encoding="utf-8")
    return po


@pytest.mark.parametrize("value, expected", [
    ("zh", CHINESE), ("zh_CN", CHINESE), ("zh-CN", CHINESE), ("zh_CN.UTF-8", CHINESE), ("ZH", CHINESE),
    ("en", ENGLISH), ("C.UTF-8", ENGLISH), ("", ENGLISH), (None, ENGLISH), ("fr_FR", ENGLISH)])
def test_normalise(value, expected):
    assert normalise(value) == expected


def test_language_defaults_to_english_whatever_the_locale(monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    assert language() == ENGLISH


def test_language_from_the_session_notebook(tmp_path, monkeypatch):
    zh = _notebook(tmp_path / "zh.ipynb", "zh-CN")
    en = _notebook(tmp_path / "en.ipynb")
    monkeypatch.setenv(i18n.SESSION_VAR, str(zh))
    assert language() == CHINESE
    monkeypatch.setenv(i18n.SESSION_VAR, str(en))
    assert language() == ENGLISH
    monkeypatch.setenv(i18n.SESSION_VAR, str(tmp_path / "missing.ipynb"))
    assert language() == ENGLISH
    (tmp_path / "bad.ipynb").write_text("{not json")
    assert notebook_language(tmp_path / "bad.ipynb") == ENGLISH


def test_the_labs_edition_counts_only_without_a_notebook(tmp_path, monkeypatch):
    """make lab LANG=zh sets CS231N_LAB_LANG for kernels the server starts without a session
    (nbgrader's Validate button); a notebook's own kernel follows the notebook."""
    monkeypatch.setenv(i18n.LAB_VAR, "zh")
    assert language() == CHINESE
    monkeypatch.setenv(i18n.SESSION_VAR, str(_notebook(tmp_path / "en.ipynb")))
    assert language() == ENGLISH


def test_env_beats_session_and_use_beats_env(tmp_path, monkeypatch):
    monkeypatch.setenv(i18n.SESSION_VAR, str(_notebook(tmp_path / "zh.ipynb", "zh-CN")))
    monkeypatch.setenv(i18n.ENV_VAR, "en")
    assert language() == ENGLISH
    with use("zh"):
        assert language() == CHINESE
        with use("en"):
            assert language() == ENGLISH
        assert language() == CHINESE
    assert language() == ENGLISH


def test_messages_translate_in_the_current_language(tmp_path):
    _po(tmp_path, "demo", {"PASS  {name}": "通过  {name}", "only English": ""})
    msgs = Messages("demo", tmp_path)
    assert msgs.gettext("PASS  {name}") == "PASS  {name}"
    with use("zh-CN"):
        assert msgs.gettext("PASS  {name}").format(name="f") == "通过  f"
        assert msgs.gettext("only English") == "only English"      # untranslated: English
        assert msgs.gettext("not in the catalogue") == "not in the catalogue"
    assert msgs.every("PASS  {name}") == ("PASS  {name}", "通过  {name}")


def test_text_translates_what_a_notebook_wrote_literal_or_f_string(tmp_path):
    """Messages.text: a literal's translation, or an f-string template's with its fields filled
    from the printed text; English (unchanged) when nothing matches or the language is English."""
    _po(tmp_path, "nb", {
        "distances (two loops)": "两重循环的距离",
        "predict_labels with k={k}": "predict_labels，k={k}",
        "mean {np.mean(h[:10]):.3f}, then {np.mean(h[-10:]):.3f}": "先是 {np.mean(h[:10]):.3f}，后是 {np.mean(h[-10:]):.3f}",
        "config['t'] is {config['t']!r}, expected 6": "config['t'] 是 {config['t']!r}，应为 6",
        "not translated {x}": "",
    })
    text = Messages("nb", tmp_path).text
    assert text("distances (two loops)") == "distances (two loops)"  # English notebook
    with use("zh"):
        assert text("distances (two loops)") == "两重循环的距离"
        assert text("predict_labels with k=3") == "predict_labels，k=3"
        assert text("predict_labels with k=a, b") == "predict_labels，k=a, b"
        assert text("mean 2.303, then 0.120") == "先是 2.303，后是 0.120"
        assert text("config['t'] is 5, expected 6") == "config['t'] 是 5，应为 6"
        assert text("predict_labels for k=3") == "predict_labels for k=3"  # the fixed part differs
        assert text("config['t'] is 5, expected 7") == "config['t'] is 5, expected 7"  # whole text only
        assert text("not translated 1") == "not translated 1"
        assert text("something else") == "something else"
        assert text(None) is None and text(3) == 3 and text("") == ""


def test_plural_forms_of_chinese(tmp_path):
    po = tmp_path / "zh_CN" / "LC_MESSAGES" / "plural.po"
    po.parent.mkdir(parents=True)
    po.write_text(textwrap.dedent('''\
        msgid ""
        msgstr ""
        "Content-Type: text/plain; charset=utf-8\\n"
        "Plural-Forms: nplurals=1; plural=0;\\n"

        msgid "{n} check"
        msgid_plural "{n} checks"
        msgstr[0] "{n} 项检查"
        '''), encoding="utf-8")
    msgs = Messages("plural", tmp_path)
    with use("zh"):
        assert msgs.ngettext("{n} check", "{n} checks", 1) == "{n} 项检查"
        assert msgs.ngettext("{n} check", "{n} checks", 5) == "{n} 项检查"
    assert msgs.ngettext("{n} check", "{n} checks", 5) == "{n} checks"


def test_missing_catalogue_is_english(tmp_path):
    assert catalogue(str(tmp_path), "nothing", CHINESE).gettext("hello") == "hello"
    with use("zh"):
        assert Messages("nothing", tmp_path).gettext("hello") == "hello"


def _in_a_notebooks_kernel(tmp_path, cells):
    """Run `cells` in a real kernel started as Jupyter Server starts the kernel of the Chinese
    notebook zh/01_knn.ipynb (JPY_SESSION_NAME from SessionManager.get_kernel_env, no
    CS231N_LANG, a locale that is not Chinese); returns each cell's output lines (streams, and
    the lines an error shows)."""
    from jupyter_client.manager import start_new_kernel
    from jupyter_server.services.kernels.kernelmanager import MappingKernelManager
    from jupyter_server.services.sessions.sessionmanager import SessionManager

    (tmp_path / "zh").mkdir()
    zh = _notebook(tmp_path / "zh" / "01_knn.ipynb", "zh-CN")
    server_kernels = MappingKernelManager(root_dir=str(tmp_path))
    env = SessionManager(kernel_manager=server_kernels).get_kernel_env("zh/01_knn.ipynb", "01_knn.ipynb")
    assert env[i18n.SESSION_VAR] == str(zh)
    env.pop(i18n.ENV_VAR, None)
    env["LANG"] = "C.UTF-8"
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(zh.parent),
                              extra_arguments=["--IPKernelApp.log_level=ERROR"])
    outputs = []
    try:
        for code in cells:
            printed = []
            kc.execute_interactive(code, timeout=120, output_hook=lambda msg, printed=printed: printed.extend(
                msg["content"].get("text", "").splitlines() + msg["content"].get("traceback", [])))
            outputs.append(printed)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return outputs


def test_a_real_kernel_started_for_a_chinese_notebook_speaks_chinese(tmp_path):
    """Jupyter Server starts a notebook's kernel with JPY_SESSION_NAME = the notebook's path
    (SessionManager.get_kernel_env); the kernel of a Chinese notebook then prints Chinese:
    its checks' PASS, FAIL (with the notebook's name and hint) and NOT DONE lines."""
    language_, passed, failed, not_done = _in_a_notebooks_kernel(tmp_path, [
        "from cs231n_lib.i18n import language\nprint(language())",
        "import numpy as np\nfrom cs231n_lib.checks import check_close\n"
        "check_close('compute_distances_two_loops on 2 test and 4 training points', np.ones(2), np.ones(2))",
        "check_close('predict_labels on the worked example with k=1', [1.0], [2.0],\n"
        "            hint='compare dists_one[:2, :4] with reference_knn.compute_distances_no_loops(X_test)[:2, :4]')",
        "def predict_labels():\n    raise NotImplementedError()\npredict_labels()",
    ])
    assert language_ == [CHINESE]
    assert passed == ["通过  compute_distances_two_loops（2 个测试点，4 个训练点）：相对误差 0.0e+00 <= 1e-07"]
    assert failed[0] == "未通过  predict_labels 在算例上的结果，k=1：相对误差 3.3e-01 > 1e-07", failed
    assert failed[-1] == ("提示：把 dists_one[:2, :4] 和 reference_knn.compute_distances_no_loops(X_test)[:2, :4] "
                          "对照一下"), failed
    assert not_done == ["未完成  predict_labels() 还没有写：请填写它的 YOUR CODE HERE 部分，"
                        "先运行它所在的单元格，再运行这一个"], not_done


def test_library_catalogue_compiles():
    """The course's own catalogue reads (a broken .po would silently print English)."""
    from pathlib import Path

    import cs231n_lib

    po = Path(cs231n_lib.__file__).parent / "locale" / "zh_CN" / "LC_MESSAGES" / "cs231n_lib.po"
    assert po.is_file()
    from babel.messages.pofile import read_po

    with open(po, "rb") as f:
        read_po(f)
    assert sys.modules["cs231n_lib.i18n"] is i18n
