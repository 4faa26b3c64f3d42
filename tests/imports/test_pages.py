"""The import pages as a rep, a manager and an analyst use them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from patron.customers import duplicates
from patron.customers.models import Customer, PossibleDuplicate
from patron.imports import services
from patron.imports.models import ImportJob, ImportMapping
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

CSV = "客户编号,客户名称,电子邮箱,首次购买\r\nC-1,张伟,zw@example.cn,05/03/2024\r\nC-2,李娜,bad-email,2024-03-06\r\n"


def upload(client, kind="customers", content=CSV, name="客户.csv", encoding="gb18030"):
    data = SimpleUploadedFile(name, content.encode(encoding), content_type="text/csv")
    return client.post(reverse("import-index"), {"kind": kind, "file": data})


def test_rep_uploads_maps_saves_mapping_and_sees_the_result(client, alice):
    client.force_login(alice)
    response = upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("import-map", args=[job.pk])
    assert job.encoding == "gb18030" and job.header == ["客户编号", "客户名称", "电子邮箱", "首次购买"]

    page = client.get(response.url).content.decode()
    assert "张伟" in page and "zw@example.cn" in page  # the preview of the first rows
    assert "客户编号" in page

    mapping = {"col_0": "external_id", "col_1": "name", "col_2": "email", "col_3": "acquired_on",
               "date_order": "dmy", "save_as": "CRM export (legacy)"}
    response = client.post(reverse("import-map", args=[job.pk]), mapping)
    assert response.status_code == 302 and response.url == reverse("import-job", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.created_count, job.rejected_count) == ("done", 1, 1)  # small file: run inline
    zhang = Customer.objects.get(external_id="C-1")
    assert zhang.owner == alice and str(zhang.acquired_on) == "2024-03-05"

    page = client.get(response.url).content.decode()
    assert 'data-testid="rejected">1<' in page and "“bad-email” is not an email address" in page
    errors = client.get(reverse("import-errors", args=[job.pk]))
    body = b"".join(errors.streaming_content).decode("utf-8-sig")
    assert "C-2" in body and body.splitlines()[0].endswith("line,error")

    saved = ImportMapping.objects.get(kind="customers", name="CRM export (legacy)")
    assert saved.columns["客户名称"] == "name" and saved.date_order == "dmy"
    # The next file of this kind offers and applies the saved mapping.
    upload(client, content=CSV.replace("C-2,李娜,bad-email", "C-2,李娜,li@example.cn"))
    second = ImportJob.objects.latest("id")
    page = client.get(reverse("import-map", args=[second.pk]) + "?mapping=CRM+export+(legacy)").content.decode()
    assert 'value="external_id" selected' in page
    client.post(reverse("import-map", args=[second.pk]), mapping | {"save_as": ""})
    second.refresh_from_db()
    assert (second.created_count, second.unchanged_count, second.rejected_count) == (1, 1, 0)


def test_a_bad_mapping_is_refused_with_a_message(client, alice):
    client.force_login(alice)
    upload(client)
    job = ImportJob.objects.get()
    response = client.post(reverse("import-map", args=[job.pk]), {"col_0": "external_id", "col_2": "email"}, follow=True)
    assert "No column is mapped to name" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "mapping" and not Customer.objects.exists()


def test_unreadable_upload_makes_no_job(client, alice):
    client.force_login(alice)
    response = upload(client, content="", name="empty.csv", encoding="utf-8")
    assert response.status_code == 200
    assert "empty" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db(transaction=True)  # the worker closes its connections between tasks
def test_large_files_run_in_the_worker_with_progress(client, alice, monkeypatch):
    monkeypatch.setattr(services, "INLINE_IMPORT_MAX_BYTES", 10)
    client.force_login(alice)
    upload(client)
    job = ImportJob.objects.get()
    client.post(reverse("import-map", args=[job.pk]), {"col_0": "external_id", "col_1": "name", "date_order": "dmy"})
    job.refresh_from_db()
    assert job.status == "queued"
    page = client.get(reverse("import-job", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page and "patron worker" in page
    call_command("worker", batch=True, interval=0)
    fragment = client.get(reverse("import-job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="status">Done<' in fragment and "hx-trigger" not in fragment
    assert Customer.objects.filter(owner=alice).count() == 2


def test_imports_are_private_to_their_owner(client, alice, bob, root):
    client.force_login(alice)
    upload(client)
    job = ImportJob.objects.get()
    client.force_login(bob)
    assert client.get(reverse("import-map", args=[job.pk])).status_code == 404
    assert client.get(reverse("import-job", args=[job.pk])).status_code == 404
    assert client.get(reverse("import-errors", args=[job.pk])).status_code == 404
    assert job.original_name not in client.get(reverse("import-index")).content.decode()
    client.force_login(root)
    assert job.original_name in client.get(reverse("import-index")).content.decode()


def test_analyst_cannot_import(client, nora):
    client.force_login(nora)
    page = client.get(reverse("import-index")).content.decode()
    assert "cannot import" in page
    upload(client)
    assert not ImportJob.objects.exists()


def test_duplicates_page_merges_only_what_the_user_can_edit(client, alice, bob):
    a1 = make_customer("Zhang Wei", owner=alice, email="zw@example.cn")
    a2 = make_customer("zhang wei", owner=alice)
    b1 = make_customer("Zhang  Wei", owner=bob)
    duplicates.possible_duplicates_flag()
    assert PossibleDuplicate.objects.count() == 3
    client.force_login(alice)
    page = client.get(reverse("duplicates")).content.decode()
    assert page.count("Keep this one") == 2  # only the pair of her own customers
    flag = PossibleDuplicate.objects.get(customer=a1, other=a2)
    hidden = PossibleDuplicate.objects.exclude(pk=flag.pk).first()
    assert client.post(reverse("duplicate-merge", args=[hidden.pk]), {"keep": a1.pk}).status_code == 404
    response = client.post(reverse("duplicate-merge", args=[flag.pk]), {"keep": a1.pk}, follow=True)
    assert "zhang wei was merged into Zhang Wei" in response.content.decode()
    assert not Customer.objects.filter(pk=a2.pk).exists()
    assert Customer.objects.filter(pk=b1.pk).exists()


def test_dismissed_pairs_leave_the_page(client, alice):
    make_customer("Li Na", owner=alice)
    make_customer("LI NA", owner=alice)
    duplicates.possible_duplicates_flag()
    flag = PossibleDuplicate.objects.get()
    client.force_login(alice)
    client.post(reverse("duplicate-dismiss", args=[flag.pk]))
    assert "Keep this one" not in client.get(reverse("duplicates")).content.decode()
