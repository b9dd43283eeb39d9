"""The HTML pages, driven through the real app: what an organiser sees and can do."""

from __future__ import annotations

import os
import re
import time
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.register import sites
from tests.factories import login, make_cluster, make_site, make_user


async def organiser(client: TestClient, session_factory: Any, role: Role = Role.organiser) -> str:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=role)
    return await login(client, "org")


async def test_sites_page_groups_by_cluster_with_counts(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        one = await make_cluster(session, code="CUM-1", name="Cụm 1")
        two = await make_cluster(session, code="CUM-2", name="Cụm 2")
        for name in ("Vĩnh Phúc", "Bắc Giang"):
            await make_site(session, name=name, cluster_id=one.id)
        await make_site(session, name="Kiên Giang", cluster_id=two.id)
        await make_site(session, name="Hội trường", cluster_id=None)
    await organiser(client, session_factory)
    html = await (await client.get("/sites")).text()
    headings = re.findall(r'<h2 id="g-\d+" class="group-head">\s*(.*?)\s*</h2>', html, re.S)
    assert len(headings) == 3
    assert "Chưa thuộc cụm" in headings[0]  # sites without cluster first, in Vietnamese
    assert "Cụm 1" in headings[1] and "2 điểm cầu" in headings[1]
    assert "Cụm 2" in headings[2] and "1 điểm cầu" in headings[2]
    assert html.index("Bắc Giang") < html.index("Vĩnh Phúc") < html.index("Kiên Giang")
    await client.get("/lang/en")
    english = await (await client.get("/sites")).text()
    assert "Without cluster" in english and ">1 site<" in english and ">2 sites<" in english


async def test_search_and_cluster_filter(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        one = await make_cluster(session)
        await make_site(session, name="Đà Nẵng", cluster_id=one.id)
        await make_site(session, name="Hà Nội")
    await organiser(client, session_factory)
    found = await (await client.get("/sites?q=da+nang")).text()
    assert "Đà Nẵng" in found and "Hà Nội" not in found
    filtered = await (await client.get(f"/sites?cluster={one.id}")).text()
    assert "Đà Nẵng" in filtered and "Hà Nội" not in filtered
    none = await (await client.get("/sites?q=zzz")).text()
    assert "Không có điểm cầu nào phù hợp" in none


async def test_pages_of_fifty(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        for n in range(120):
            await make_site(session, code=f"xa-{n:03d}", name=f"Xã {n:03d}")
    await organiser(client, session_factory)
    second = await (await client.get("/sites?page=2")).text()
    assert "51–100 / 120" in second
    assert "Xã 050" in second and "Xã 049" not in second and "Xã 100" not in second
    assert 'rel="prev"' in second and 'rel="next"' in second


async def test_create_a_site_through_the_form(client: TestClient, session_factory: Any):
    csrf = await organiser(client, session_factory)
    async with session_factory() as session, session.begin():
        cluster = await make_cluster(session)
    form = {
        "_csrf": csrf,
        "code": "kien-giang",
        "name": "Liên hiệp hữu nghị Kiên Giang",
        "province": "Kiên Giang",
        "cluster_id": str(cluster.id),
        "timezone": "",
        "address": "",
        "endpoint": "",
        "contact_name": ["Nguyễn Văn A", ""],
        "contact_title": ["Chủ tịch", ""],
        "contact_email": ["a@example.org", ""],
        "contact_phone": ["", ""],
        "contact_role": ["head", "other"],
    }
    response = await client.post("/sites/new", data=_multi(form), allow_redirects=False)
    assert response.status == 303
    detail = await (await client.get(response.headers["Location"])).text()
    assert "Đã lưu điểm cầu." in detail
    assert "Liên hiệp hữu nghị Kiên Giang" in detail and "a@example.org" in detail
    assert "Lãnh đạo Liên hiệp" in detail  # the contact's role, translated


async def test_a_bad_email_is_shown_at_its_field_and_nothing_is_saved(
    client: TestClient, session_factory: Any
):
    csrf = await organiser(client, session_factory)
    form = {
        "_csrf": csrf,
        "code": "hn",
        "name": "Hà Nội",
        "contact_name": ["Lan"],
        "contact_title": [""],
        "contact_email": ["not-an-address"],
        "contact_phone": [""],
        "contact_role": ["head"],
    }
    response = await client.post("/sites/new", data=_multi(form))
    assert response.status == 422
    html = await response.text()
    assert "Địa chỉ thư điện tử không hợp lệ" in html
    assert 'value="not-an-address"' in html and 'value="Hà Nội"' in html  # input kept
    async with session_factory() as session:
        assert await sites.count_sites(session) == 0


async def test_a_stale_edit_says_someone_else_changed_it(client: TestClient, session_factory: Any):
    csrf = await organiser(client, session_factory)
    async with session_factory() as session, session.begin():
        site = await make_site(session, name="Hà Nội")
    edit_page = await (await client.get(f"/sites/{site.id}/edit")).text()
    assert 'name="version" value="1"' in edit_page
    first = {"_csrf": csrf, "version": "1", "code": site.code, "name": "Hà Nội A"}
    assert (
        await client.post(f"/sites/{site.id}/edit", data=first, allow_redirects=False)
    ).status == 303
    second = {"_csrf": csrf, "version": "1", "code": site.code, "name": "Hà Nội B"}
    response = await client.post(f"/sites/{site.id}/edit", data=second)
    assert response.status == 409
    assert "Người khác đã thay đổi bản ghi này" in await response.text()
    async with session_factory() as session:
        assert (await sites.get_site(session, site.id)).name == "Hà Nội A"


async def test_delete_a_site(client: TestClient, session_factory: Any):
    csrf = await organiser(client, session_factory)
    async with session_factory() as session, session.begin():
        site = await make_site(session)
    response = await client.post(
        f"/sites/{site.id}/delete", data={"_csrf": csrf, "version": "1"}, allow_redirects=False
    )
    assert response.status == 303
    async with session_factory() as session:
        assert await sites.count_sites(session) == 0


async def test_read_only_roles_see_the_register_but_cannot_change_it(
    client: TestClient, session_factory: Any
):
    await organiser(client, session_factory, role=Role.secretary)
    listing = await (await client.get("/sites")).text()
    assert "Thêm điểm cầu" not in listing  # no "new site" button
    assert (await client.get("/sites/new")).status == 403
    assert (await client.get("/users")).status == 403
    forbidden = await (await client.get("/users")).text()
    assert "Vai trò của bạn không được mở trang này." in forbidden


async def test_clusters_page_create_and_set_leader(client: TestClient, session_factory: Any):
    csrf = await organiser(client, session_factory)
    created = await client.post(
        "/clusters/new",
        data={"_csrf": csrf, "code": "CUM-1", "name": "Cụm 1"},
        allow_redirects=False,
    )
    assert created.status == 303
    async with session_factory() as session, session.begin():
        (cluster,) = await sites.list_clusters(session)
        leader = await make_site(session, name="Vĩnh Phúc", cluster_id=cluster.id)
    form = {
        "_csrf": csrf,
        "version": "1",
        "code": "CUM-1",
        "name": "Cụm 1",
        "leader_site_id": str(leader.id),
        "deputy_site_id": "",
        "leader_year": "2024",
    }
    assert (
        await client.post(f"/clusters/{cluster.id}/edit", data=form, allow_redirects=False)
    ).status == 303
    page = await (await client.get("/clusters")).text()
    assert "Vĩnh Phúc" in page and "2024" in page
    duplicate = await client.post(
        "/clusters/new", data={"_csrf": csrf, "code": "CUM-1", "name": "Again"}
    )
    assert duplicate.status == 409


async def test_admin_manages_accounts(client: TestClient, session_factory: Any):
    csrf = await organiser(client, session_factory, role=Role.admin)
    short = await client.post(
        "/users/new",
        data={"_csrf": csrf, "username": "lan", "role": "secretary", "password": "short"},
    )
    assert short.status == 422
    assert "Ít nhất 10 ký tự" in await short.text()
    made = await client.post(
        "/users/new",
        data={
            "_csrf": csrf,
            "username": "lan",
            "full_name": "Nguyễn Thị Lan",
            "role": "secretary",
            "password": "a-long-password",
        },
        allow_redirects=False,
    )
    assert made.status == 303
    page = await (await client.get("/users")).text()
    assert "Nguyễn Thị Lan" in page and "Thư ký" in page


async def test_language_switch(client: TestClient, session_factory: Any):
    await organiser(client, session_factory)
    vietnamese = await (await client.get("/")).text()
    assert '<html lang="vi">' in vietnamese and "Tổng quan" in vietnamese
    english = await (await client.get("/lang/en?next=/")).text()
    assert '<html lang="en">' in english and "Dashboard" in english
    assert "Tổng quan" not in english


def _multi(form: dict[str, Any]) -> list[tuple[str, str]]:
    """Form fields, repeating a name for each value of a list (like a browser does)."""
    pairs: list[tuple[str, str]] = []
    for name, value in form.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return pairs


async def test_import_preview_lists_problems_and_writes_nothing(
    client: TestClient, session_factory: Any, settings: Any
):
    csrf = await organiser(client, session_factory)
    abandoned = settings.var_dir / "imports" / "abandoned-preview-token.csv"
    abandoned.parent.mkdir(parents=True, exist_ok=True)
    abandoned.write_text("code,name\n", encoding="utf-8")
    two_days_ago = time.time() - 2 * 86400
    os.utime(abandoned, (two_days_ago, two_days_ago))

    bad = "code,name,contact1_name,contact1_email\nhn,Hà Nội,Lan,lan@example.org\nhp,,Minh,minh@\n"
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field("file", bad.encode(), filename="sites.csv", content_type="text/csv")
    response = await client.post("/sites/import", data=form)
    assert response.status == 422
    html = await response.text()
    assert "Tệp chưa được nhập; dữ liệu không thay đổi." in html
    rows = re.findall(r'<td class="num">(\d+)</td><td><code>(\w+)</code></td>', html)
    assert ("3", "name") in rows and ("3", "contact1_email") in rows
    async with session_factory() as session:
        assert await sites.count_sites(session) == 0

    good = FormData()
    good.add_field("_csrf", csrf)
    good.add_field("file", bad.encode().split(b"\nhp")[0], filename="sites.csv")
    preview = await client.post("/sites/import", data=good)
    assert preview.status == 200
    assert "1 mới" in await preview.text()
    assert not abandoned.exists()  # a day-old unconfirmed upload is cleaned away


async def test_every_page_renders_for_an_organiser_and_an_admin(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        cluster = await make_cluster(session, code="CUM-1", name="Cụm 1")
        site = await make_site(session, name="Kiên Giang", cluster_id=cluster.id)
        admin = await make_user(session, username="quantri", role=Role.admin)
    await organiser(client, session_factory)
    pages = (
        "/",
        "/sites",
        f"/sites?cluster={cluster.id}",
        f"/sites/{site.id}",
        "/sites/new",
        f"/sites/new?cluster={cluster.id}",
        f"/sites/{site.id}/edit",
        "/sites/import",
        "/clusters",
        f"/clusters/{cluster.id}/edit",
    )
    for path in pages:
        response = await client.get(path)
        assert response.status == 200, path
        html = await response.text()
        assert '<meta name="csrf-token" content="' in html, path
        assert '<main id="main"' in html and "<h1" in html, path
    await login(client, admin.username)
    users = await client.get("/users")
    assert users.status == 200 and "quantri" in await users.text()
    assert (await client.get(f"/users/{admin.id}/edit")).status == 200


async def test_dashboard_summarises_the_register_and_says_when_nothing_is_planned(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        one = await make_cluster(session, code="CUM-1", name="Cụm 1")
        for name in ("Vĩnh Phúc", "Bắc Giang", "Hà Nội"):
            await make_site(session, name=name, cluster_id=one.id)
    await organiser(client, session_factory)
    html = await (await client.get("/")).text()
    assert re.search(r'tile-number">3</span>\s*<span class="tile-label">điểm cầu', html)
    assert "Chưa có phiên họp nào được lên lịch." in html
    assert f'href="/sites?cluster={one.id}"' in html


async def test_a_missing_site_gets_a_translated_error_page(
    client: TestClient, session_factory: Any
):
    await organiser(client, session_factory)
    response = await client.get("/sites/99999")
    assert response.status == 404
    html = await response.text()
    assert '<h1 id="error-title">Không tìm thấy</h1>' in html
    assert "Về trang tổng quan" in html


async def test_import_preview_then_confirm_writes_the_sites(
    client: TestClient, session_factory: Any, settings: Any
):
    csrf = await organiser(client, session_factory)
    async with session_factory() as session, session.begin():
        await make_cluster(session, code="CUM-1", name="Cụm 1")
    sheet = "code,name,province,cluster\nvp,Vĩnh Phúc,Vĩnh Phúc,CUM-1\nbg,Bắc Giang,,CUM-1\n"
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field("file", sheet.encode(), filename="diem-cau.csv", content_type="text/csv")
    preview = await client.post("/sites/import", data=form)
    assert preview.status == 200
    html = await preview.text()
    assert "2 mới" in html
    async with session_factory() as session:
        assert await sites.count_sites(session) == 0  # a preview writes nothing
    (token,) = re.findall(r'name="token" value="([A-Za-z0-9_-]+)"', html)
    assert (settings.var_dir / "imports" / f"{token}.csv").is_file()

    confirmed = await client.post(
        "/sites/import/confirm", data={"_csrf": csrf, "token": token}, allow_redirects=False
    )
    assert confirmed.status == 303 and confirmed.headers["Location"] == "/sites"
    listing = await (await client.get("/sites")).text()
    assert "Đã nhập: 2 mới, 0 thay đổi, 0 không đổi." in listing
    assert "Bắc Giang" in listing and "Vĩnh Phúc" in listing
    assert not (settings.var_dir / "imports" / f"{token}.csv").exists()
    again = await client.post(
        "/sites/import/confirm", data={"_csrf": csrf, "token": token}, allow_redirects=False
    )
    assert again.status == 303 and again.headers["Location"] == "/sites/import"  # used up


async def test_import_confirm_refuses_a_token_that_is_not_one_of_ours(
    client: TestClient, session_factory: Any, settings: Any
):
    csrf = await organiser(client, session_factory)
    secret = settings.var_dir / "secret.csv"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("code,name\nx,X\n", encoding="utf-8")
    for token in ("../secret", "..", "a/b", "x" * 200, "", "abc.csv"):
        response = await client.post(
            "/sites/import/confirm", data={"_csrf": csrf, "token": token}, allow_redirects=False
        )
        assert response.status == 400, token
    assert secret.exists()
    async with session_factory() as session:
        assert await sites.count_sites(session) == 0


async def test_import_confirm_after_the_register_changed_lists_the_problems(
    client: TestClient, session_factory: Any
):
    csrf = await organiser(client, session_factory)
    async with session_factory() as session, session.begin():
        cluster = await make_cluster(session, code="CUM-9", name="Cụm 9")
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field(
        "file", b"code,name,cluster\nvp,V\xc4\xa9nh Ph\xc3\xbac,CUM-9\n", filename="a.csv"
    )
    html = await (await client.post("/sites/import", data=form)).text()
    (token,) = re.findall(r'name="token" value="([A-Za-z0-9_-]+)"', html)
    async with session_factory() as session, session.begin():
        await sites.delete_cluster(session, cluster.id)  # someone removes the cluster meanwhile
    response = await client.post("/sites/import/confirm", data={"_csrf": csrf, "token": token})
    assert response.status == 422
    page = await response.text()
    assert "Tệp chưa được nhập; dữ liệu không thay đổi." in page
    assert "<code>cluster</code>" in page
    async with session_factory() as session:
        assert await sites.count_sites(session) == 0


async def test_the_new_site_form_marks_a_duplicate_code_and_an_unknown_time_zone(
    client: TestClient, session_factory: Any
):
    csrf = await organiser(client, session_factory)
    async with session_factory() as session, session.begin():
        await make_site(session, code="ha-noi", name="Hà Nội")
    zone = await client.post(
        "/sites/new",
        data={"_csrf": csrf, "code": "hn-2", "name": "Hà Nội 2", "timezone": "Mars/Base"},
    )
    assert zone.status == 422
    html = await zone.text()
    assert re.search(r'id="e-timezone">Múi giờ không hợp lệ<', html)
    empty = await (await client.post("/sites/new", data={"_csrf": csrf, "code": ""})).text()
    assert re.search(r'id="e-code">Bắt buộc<', empty) and re.search(r'id="e-name">Bắt buộc<', empty)
    assert 'value="Mars/Base"' in html and 'value="Hà Nội 2"' in html
    duplicate = await client.post(
        "/sites/new", data={"_csrf": csrf, "code": "ha-noi", "name": "Hà Nội 2"}
    )
    assert duplicate.status == 409
    assert re.search(r'id="e-code">Đã được dùng', await duplicate.text())
    async with session_factory() as session:
        assert await sites.count_sites(session) == 1


async def test_deleting_a_site_changed_meanwhile_is_refused_on_its_page(
    client: TestClient, session_factory: Any
):
    csrf = await organiser(client, session_factory)
    async with session_factory() as session, session.begin():
        site = await make_site(session, name="Hà Nội")
    response = await client.post(f"/sites/{site.id}/delete", data={"_csrf": csrf, "version": "7"})
    assert response.status == 409
    html = await response.text()
    assert "Người khác vừa thay đổi điểm cầu này" in html and "<h1>Hà Nội</h1>" in html
    async with session_factory() as session:
        assert await sites.count_sites(session) == 1


async def test_the_last_admin_cannot_be_demoted_and_is_told_at_the_role_field(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        admin = await make_user(session, username="quantri", role=Role.admin)
    csrf = await login(client, "quantri")
    form = {
        "_csrf": csrf,
        "version": str(admin.version),
        "full_name": "Quản trị",
        "email": "",
        "role": "organiser",
        "is_active": "on",
    }
    response = await client.post(f"/users/{admin.id}/edit", data=form)
    assert response.status == 422
    html = await response.text()
    assert "Quản trị viên đang hoạt động cuối cùng phải giữ vai trò quản trị viên" in html
    assert 'value="Quản trị"' in html  # the input is kept
    await client.get("/lang/en")
    english = await (await client.post(f"/users/{admin.id}/edit", data=form)).text()
    assert "The last active administrator must stay an administrator." in english
