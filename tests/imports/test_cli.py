"""``patron import``: messages, error lines, the error file and exit codes 0, 1 and 2."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from patron.customers.models import Customer
from tests.imports.helpers import write_csv

PATRON = [sys.executable, "-m", "patron.cli"]


def patron(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(PATRON_TESTING="1", PATRON_DATA_DIR=str(data_dir))
    return subprocess.run([*PATRON, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_the_real_command_exits_0_1_and_2(tmp_path):
    data_dir = tmp_path / "data"
    assert patron("migrate", "--verbosity", "0", data_dir=data_dir).returncode == 0
    good = write_csv(tmp_path / "good.csv", ["external_id", "name", "city"], [["C-1", "张伟", "北京"], ["C-2", "李娜", ""]], encoding="gb18030")
    first = patron("import", "customers", str(good), data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    assert "Created: 2, updated: 0, unchanged: 0, rejected: 0." in first.stdout and "gb18030" in first.stdout

    bad = write_csv(tmp_path / "bad.csv", ["external_id", "name", "acquired_on"], [["C-3", "Ok", "2024-03-05"], ["C-4", "", ""], ["C-5", "Late", "31/02/2024"]])
    result = patron("import", "customers", str(bad), data_dir=data_dir)
    assert result.returncode == 1
    assert "line 3: name is required." in result.stderr
    assert "line 4: acquired_on: “31/02/2024” is not a date." in result.stderr
    assert "Created: 1, updated: 0, unchanged: 0, rejected: 2." in result.stdout
    assert str(tmp_path / "bad.csv.errors.csv") in result.stdout

    unusable = patron("import", "planets", str(good), data_dir=data_dir)
    assert unusable.returncode == 2 and "Unknown kind planets" in unusable.stderr
    assert "Traceback" not in unusable.stderr
    with sqlite3.connect(data_dir / "patron.sqlite3") as db:
        assert db.execute("select count(*) from customers_customer").fetchone()[0] == 3
        assert db.execute("select count(*) from imports_importjob where source = 'cli'").fetchone()[0] == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["planets", "{ok}"], "Unknown kind planets"),
        (["customers", "{dir}/nope.csv"], "There is no file"),
        (["customers", "{ok}", "--mapping", "no-such-mapping"], "No saved mapping no-such-mapping"),
        (["customers", "{ok}", "--user", "ghost"], "No active user named ghost"),
        (["orders", "{ok}"], "No column is mapped to channel"),
        (["customers", "{ok}", "--encoding", "ebcdic-klingon"], "Unknown encoding"),
    ],
)
def test_unusable_input_is_exit_code_2_and_writes_nothing(tmp_path, args, message):
    ok = write_csv(tmp_path / "c.csv", ["external_id", "name"], [["X-1", "X"]])
    with pytest.raises(CommandError, match=message) as raised:
        call_command("import", *[a.format(ok=ok, dir=tmp_path) for a in args])
    assert raised.value.returncode == 2
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_rejected_rows_exit_1_after_the_good_ones_land(tmp_path):
    path = write_csv(tmp_path / "c.csv", ["external_id", "name"], [["X-1", "X"], ["X-2", ""]])
    with pytest.raises(SystemExit) as exited:
        call_command("import", "customers", str(path), stdout=StringIO())
    assert exited.value.code == 1
    assert Customer.objects.filter(external_id="X-1").exists()


@pytest.mark.django_db
def test_json_mapping_saved_mapping_and_dry_run(tmp_path, alice):
    legacy = write_csv(tmp_path / "legacy.csv", ["Kunden-Nr", "Firma", "Seit"], [["L-1", "Müller GmbH", "05/03/2024"]])
    mapping = tmp_path / "legacy.json"
    mapping.write_text(json.dumps({"columns": {"Kunden-Nr": "external_id", "Firma": "name", "Seit": "acquired_on"}, "date_order": "dmy"}))
    out = StringIO()
    call_command("import", "customers", str(legacy), "--mapping", str(mapping), "--dry-run", "--save-mapping", "legacy", stdout=out)
    assert "Would be created: 1," in out.getvalue() and "Dry run: nothing was written" in out.getvalue()
    assert not Customer.objects.exists()
    out = StringIO()
    call_command("import", "customers", str(legacy), "--mapping", "legacy", "--user", "alice", stdout=out)
    muller = Customer.objects.get(external_id="L-1")
    assert str(muller.acquired_on) == "2024-03-05" and muller.owner == alice
    assert "Columns not imported" not in out.getvalue()
