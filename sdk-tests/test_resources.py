"""SWR organizations and repositories through the official Python SDK (SwrClient v2), in
`--auth strict` like the whole suite: ListNamespaces, ShowNamespace, CreateNamespace,
DeleteNamespaces, ListReposDetails (v2, offset + Content-Range), ListRepoDetails (v3, integer
marker), ShowRepository, CreateRepo, UpdateRepo and DeleteRepo.

Each answer is checked field by field against its page's example (the same keys, the same JSON
types), with the values the default fixture gives or derives. Default fixture: tenant 1 owns
`namespace` (repository busybox, tag latest), tenant 2 owns `othernamespace` (nginx:1.25).
Tests that write own their server (`own_server`).
"""
import calendar
import time

import pytest
from huaweicloudsdkswr.v2 import (CreateNamespaceRequest, CreateNamespaceRequestBody, CreateRepoRequest,
                                  CreateRepoRequestBody, CreateRepoTagRequest, CreateRepoTagRequestBody,
                                  DeleteNamespacesRequest, DeleteRepoRequest, DeleteRepoTagRequest,
                                  ListNamespacesRequest, ListRepoDetailsRequest, ListReposDetailsRequest,
                                  ListRepositoryTagsRequest, ShowNamespaceRequest, ShowRepositoryRequest,
                                  UpdateRepoRequest, UpdateRepoRequestBody)

from support import DEFAULT_PROJECT_ID, admin_put_swr_tag, expect_client_error, make_swr_client, raw_get

NS, REPO = "namespace", "busybox"
OTHER_NS = "othernamespace"
OTHER_PROJECT = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
TENANT1_DOMAIN = "0503dda878000fed0f75c0096d70a960"
REGISTRY, INTERNAL = "swr.cn-north-1.myhuaweicloud.com", "10.125.0.198:20202"

# The pages' example answers (support.huaweicloud.com; see CONFORMANCE.md, SWR-0028 ... SWR-v3).
PAGE_LIST_NAMESPACES = {"namespaces": [{"id": 1343008, "name": "group", "creator_name": "username", "auth": 7}]}
PAGE_SHOW_NAMESPACE = {"id": 1422, "name": "demo", "creator_name": "lgp", "auth": 7}
PAGE_SHOW_REPOSITORY = {
    "id": 865151, "ns_id": 1334795, "name": "busybox", "category": "other", "description": "containerops",
    "creator_id": "050b12577f00269a1fcfc01f65239697", "creator_name": "admin", "size": 2099575,
    "is_public": False, "num_images": 1, "num_download": 0, "url": "",
    "path": "{Repository address}/group/busybox", "internal_path": "{Repository address}/group/busybox",
    "created": "2021-06-02T09:59:25.51307Z", "updated": "2021-06-02T17:59:25.538056Z",
    "domain_id": "da44776c316c4a99b3683bb174f8821b", "priority": 0,
}
PAGE_LIST_REPOS_ITEM = {
    "name": "busybox", "category": "other", "description": "containerops", "size": 2099575,
    "is_public": False, "num_images": 1, "num_download": 0, "created_at": "2021-06-02T09:59:25Z",
    "updated_at": "2021-06-02T09:59:25Z", "logo": "", "url": "", "path": "{Repository address}/group/busybox",
    "internal_path": "{Repository address}/group/busybox", "domain_name": "user", "namespace": "group",
    "tags": ["latest"], "status": False, "total_range": 1,
}
PAGE_V3_ITEM = {
    "id": 865151, "name": "busybox", "category": "other", "description": "containerops", "size": 2099575,
    "is_public": False, "num_images": 1, "num_download": 0, "created_at": "2021-06-02T09:59:25Z",
    "updated_at": "2021-06-02T09:59:25Z", "domain_name": "user", "namespace_name": "group", "status": False,
}

# What the default fixture holds (size: the derived size of busybox:latest, seed 003).
BUSYBOX_SIZE = 1304902
SEED_TIME = "2018-07-06T06:18:55Z"


def same_shape(got: dict, page: dict):
    """The same keys as the page's example, each with the same JSON type."""
    assert sorted(got) == sorted(page), (sorted(got), sorted(page))
    for key, value in page.items():
        assert type(got[key]) is type(value), (key, got[key], value)


def epoch(stamp):
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def tenant2(server):
    return make_swr_client(server, project_id=OTHER_PROJECT, ak="AKOTHER", sk="SKOTHER")


@pytest.fixture
def w(own_server):
    return make_swr_client(own_server, project_id=DEFAULT_PROJECT_ID)


def create_ns(client, name):
    return client.create_namespace(CreateNamespaceRequest(body=CreateNamespaceRequestBody(namespace=name)))


def create_repo(client, repository, namespace=NS, is_public=False, category=None, description=None):
    body = CreateRepoRequestBody(repository=repository, is_public=is_public, category=category,
                                 description=description)
    return client.create_repo(CreateRepoRequest(namespace=namespace, body=body))


def v2_repos(client, **kw):
    response = client.list_repos_details(ListReposDetailsRequest(**kw))
    return [r.name for r in (response.body or [])], response.content_range


def raw_json(server, path):
    """The raw JSON and headers of a GET as tenant 1 (token auth passes strict mode too), to
    compare exact keys and JSON types with the page's example."""
    status, headers, text, parsed = raw_get(server, path, {"X-Auth-Token": "TOKENTEST"})
    assert status == 200, text
    return parsed, headers


# ---------------------------------------------------------------------------
# Organizations
# ---------------------------------------------------------------------------
def test_list_namespaces_answers_the_callers_organizations_in_the_pages_shape(swr, default_server):
    response = swr.list_namespaces(ListNamespacesRequest())
    assert [(n.id, n.name, n.creator_name, n.auth) for n in response.namespaces] == [(1, NS, "admin", 7)]
    body, _ = raw_json(default_server, "/v2/manage/namespaces")
    assert sorted(body) == sorted(PAGE_LIST_NAMESPACES)
    same_shape(body["namespaces"][0], PAGE_LIST_NAMESPACES["namespaces"][0])
    # The filter forms of the page.
    assert [n.name for n in swr.list_namespaces(ListNamespacesRequest(namespace="name")).namespaces] == [NS]
    assert swr.list_namespaces(ListNamespacesRequest(namespace="nosuch")).namespaces == []
    assert [n.name for n in swr.list_namespaces(ListNamespacesRequest(filter="namespace::namespace|mode::visible"))
            .namespaces] == [NS]
    expect_client_error(lambda: swr.list_namespaces(ListNamespacesRequest(filter="nonsense")),
                        400, "SVCSTG.SWR.4001035")


def test_show_namespace_field_by_field_and_403_across_tenants(swr, default_server):
    response = swr.show_namespace(ShowNamespaceRequest(namespace=NS))
    assert (response.id, response.name, response.creator_name, response.auth) == (1, NS, "admin", 7)
    body, _ = raw_json(default_server, "/v2/manage/namespaces/namespace")
    same_shape(body, PAGE_SHOW_NAMESPACE)
    expect_client_error(lambda: swr.show_namespace(ShowNamespaceRequest(namespace=OTHER_NS)),
                        403, "SVCSTG.SWR.4030170")
    expect_client_error(lambda: swr.show_namespace(ShowNamespaceRequest(namespace="nosuch")),
                        404, "SVCSTG.SWR.4040058")
    expect_client_error(lambda: swr.show_namespace(ShowNamespaceRequest(namespace="Bad")),
                        400, "SVCSTG.SWR.4001028")


def test_create_namespace_then_delete_it_with_the_pages_errors(w, own_server):
    create_ns(w, "group")
    assert [n.name for n in w.list_namespaces(ListNamespacesRequest()).namespaces] == ["group", NS]
    shown = w.show_namespace(ShowNamespaceRequest(namespace="group"))
    assert (shown.id, shown.name, shown.auth) == (3, "group", 7)  # the next free id after 1 and 2
    expect_client_error(lambda: create_ns(w, "group"), 409, "SVCSTG.SWR.4090006")
    expect_client_error(lambda: create_ns(w, OTHER_NS), 409, "SVCSTG.SWR.4090006")  # names are global
    expect_client_error(lambda: create_ns(w, "-bad"), 400, "SVCSTG.SWR.4001028")
    # The other tenant neither sees nor deletes it.
    assert [n.name for n in tenant2(own_server).list_namespaces(ListNamespacesRequest()).namespaces] == [OTHER_NS]
    expect_client_error(lambda: tenant2(own_server).delete_namespaces(DeleteNamespacesRequest(namespace="group")),
                        403, "SVCSTG.SWR.4030170")
    w.delete_namespaces(DeleteNamespacesRequest(namespace="group"))
    expect_client_error(lambda: w.show_namespace(ShowNamespaceRequest(namespace="group")), 404, "SVCSTG.SWR.4040058")
    expect_client_error(lambda: w.delete_namespaces(DeleteNamespacesRequest(namespace="group")),
                        404, "SVCSTG.SWR.4040058")


def test_delete_namespaces_is_refused_while_it_holds_repositories(w):
    expect_client_error(lambda: w.delete_namespaces(DeleteNamespacesRequest(namespace=NS)), 406, "SVCSTG.SWR.4060012")
    w.delete_repo(DeleteRepoRequest(namespace=NS, repository=REPO))
    w.delete_namespaces(DeleteNamespacesRequest(namespace=NS))
    assert w.list_namespaces(ListNamespacesRequest()).namespaces == []


def test_create_namespace_stops_at_the_per_account_quota_of_five(w):
    for i in range(4):  # tenant 1 holds one already
        create_ns(w, "org%d" % i)
    expect_client_error(lambda: create_ns(w, "org9"), 400, "SVCSTG.SWR.4000014")
    w.delete_namespaces(DeleteNamespacesRequest(namespace="org0"))
    create_ns(w, "org9")


# ---------------------------------------------------------------------------
# Repositories
# ---------------------------------------------------------------------------
def test_show_repository_field_by_field_against_the_page(swr, default_server):
    r = swr.show_repository(ShowRepositoryRequest(namespace=NS, repository=REPO))
    got = {k: getattr(r, k) for k in PAGE_SHOW_REPOSITORY}
    assert got == {
        "id": 1, "ns_id": 1, "name": REPO, "category": "other", "description": "",
        "creator_id": TENANT1_DOMAIN, "creator_name": "admin", "size": BUSYBOX_SIZE, "is_public": False,
        "num_images": 1, "num_download": 0, "url": "", "path": "%s/%s/%s" % (REGISTRY, NS, REPO),
        "internal_path": "%s/%s/%s" % (INTERNAL, NS, REPO), "created": SEED_TIME, "updated": SEED_TIME,
        "domain_id": TENANT1_DOMAIN, "priority": 0,
    }
    body, _ = raw_json(default_server, "/v2/manage/namespaces/namespace/repos/busybox")
    same_shape(body, PAGE_SHOW_REPOSITORY)
    expect_client_error(lambda: swr.show_repository(ShowRepositoryRequest(namespace=NS, repository="nosuch")),
                        404, "SVCSTG.SWR.4040010")
    expect_client_error(lambda: swr.show_repository(ShowRepositoryRequest(namespace=OTHER_NS, repository="nginx")),
                        403, "SVCSTG.SWR.4030170")


def test_list_repos_details_v2_field_by_field_with_content_range(swr, default_server):
    response = swr.list_repos_details(ListReposDetailsRequest())
    assert response.content_range == "0-1/1"
    [item] = response.body
    assert (item.name, item.namespace, item.num_images, item.size, item.tags, item.total_range,
            item.domain_name, item.path, item.internal_path, item.created_at, item.updated_at) == (
        REPO, NS, 1, BUSYBOX_SIZE, ["latest"], 1, "tenant1", "%s/%s/%s" % (REGISTRY, NS, REPO),
        "%s/%s/%s" % (INTERNAL, NS, REPO), SEED_TIME, SEED_TIME)
    body, headers = raw_json(default_server, "/v2/manage/repos")
    same_shape(body[0], PAGE_LIST_REPOS_ITEM)
    assert headers["Content-Range"] == "0-1/1"
    # Tenant 2 sees its own repository only.
    assert v2_repos(tenant2(default_server)) == (["nginx"], "0-1/1")


def test_list_repos_details_v2_filters_pages_and_orders(w, own_server):
    for name, category, public in [("app", "linux", True), ("db", "database", False), ("group/web", "other", True)]:
        create_repo(w, name, is_public=public, category=category, description="d-" + name)
    assert v2_repos(w) == (["app", REPO, "db", "group/web"], "0-4/4")
    assert v2_repos(w, offset="1", limit="2") == ([REPO, "db"], "1-2/4")
    assert v2_repos(w, name="b") == ([REPO, "db", "group/web"], "0-3/3")
    assert v2_repos(w, category="linux") == (["app"], "0-1/1")
    assert v2_repos(w, namespace="names") == (["app", REPO, "db", "group/web"], "0-4/4")
    assert v2_repos(w, filter="center::self|name::we|offset::0|limit::10") == (["group/web"], "0-1/1")
    assert v2_repos(w, order_column="name", order_type="desc")[0] == ["group/web", "db", REPO, "app"]
    assert v2_repos(w, order_column="is_public", order_type="asc")[0] == [REPO, "db", "app", "group/web"]
    expect_client_error(lambda: v2_repos(w, limit="10"), 400, "SVCSTG.SWR.4001072")
    expect_client_error(lambda: v2_repos(w, offset="0", limit="0"), 400, "SVCSTG.SWR.4000056")
    expect_client_error(lambda: v2_repos(w, order_column="size"), 400, "SVCSTG.SWR.4000014")
    expect_client_error(lambda: v2_repos(w, category="games"), 400, "SVCSTG.SWR.4000014")
    expect_client_error(lambda: v2_repos(w, filter="colour::blue"), 400, "SVCSTG.SWR.4001035")


def test_list_repo_details_v3_walks_with_an_integer_marker_through_writes(w, own_server):
    for i in range(7):
        create_repo(w, "r%d" % i)
    response = w.list_repo_details(ListRepoDetailsRequest(limit=3))
    assert [r.name for r in response.repos] == [REPO, "r0", "r1"]
    assert isinstance(response.next_marker, int)
    body, _ = raw_json(own_server, "/v3/manage/repos?limit=1")
    assert sorted(body) == ["nextMarker", "repos"] and isinstance(body["nextMarker"], int)
    same_shape(body["repos"][0], PAGE_V3_ITEM)
    seen, marker, created = [], None, False
    while True:
        page = w.list_repo_details(ListRepoDetailsRequest(limit=3, marker=marker))
        seen += [r.name for r in page.repos]
        if not created:  # writes between pages: one deleted ahead, one created
            w.delete_repo(DeleteRepoRequest(namespace=NS, repository="r5"))
            create_repo(w, "late")
            created = True
        if page.next_marker is None:
            break
        marker = page.next_marker
    assert seen == [REPO, "r0", "r1", "r2", "r3", "r4", "r6", "late"]
    assert [r.name for r in w.list_repo_details(ListRepoDetailsRequest(name="late")).repos] == ["late"]
    assert [r.name for r in w.list_repo_details(ListRepoDetailsRequest(is_public=True)).repos] == []
    expect_client_error(lambda: w.list_repo_details(ListRepoDetailsRequest(limit=0)), 400, "SVCSTG.SWR.4000056")
    status, _, _, parsed = raw_get(own_server, "/v3/manage/repos?marker=abc", {"X-Auth-Token": "TOKENTEST"})
    assert (status, parsed["error_code"]) == (400, "SVCSTG.SWR.4000014")


def test_create_update_delete_repo_and_the_counters_follow_the_tags(w, own_server):
    create_repo(w, "group/app", is_public=True, category="linux", description="first")
    r = w.show_repository(ShowRepositoryRequest(namespace=NS, repository="group$app"))
    assert (r.name, r.category, r.description, r.is_public, r.num_images, r.size, r.ns_id) == (
        "group/app", "linux", "first", True, 0, 0, 1)
    assert abs(epoch(r.created) - time.time()) < 120
    expect_client_error(lambda: create_repo(w, "group/app"), 409, "SVCSTG.SWR.4090006")
    expect_client_error(lambda: create_repo(w, "Bad"), 400, "SVCSTG.SWR.4001029")
    expect_client_error(lambda: create_repo(w, "x", namespace="nosuch"), 404, "SVCSTG.SWR.4040058")
    expect_client_error(lambda: create_repo(w, "x", category="games"), 400, "SVCSTG.SWR.4000014")
    expect_client_error(lambda: create_repo(tenant2(own_server), "x"), 403, "SVCSTG.SWR.4030170")
    w.update_repo(UpdateRepoRequest(namespace=NS, repository="group$app",
                                    body=UpdateRepoRequestBody(is_public=False, category="other",
                                                               description="second")))
    r = w.show_repository(ShowRepositoryRequest(namespace=NS, repository="group$app"))
    assert (r.category, r.description, r.is_public) == ("other", "second", False)
    # A tag pushed shows in the repository's count, size and update time at once.
    admin_put_swr_tag(own_server, NS, "group$app", "v1", {"size": 1000, "updated": "2030-01-01T00:00:00Z"})
    admin_put_swr_tag(own_server, NS, "group$app", "v2", {"size": 234})
    r = w.show_repository(ShowRepositoryRequest(namespace=NS, repository="group$app"))
    assert (r.num_images, r.size, r.updated) == (2, 1234, "2030-01-01T00:00:00Z")
    w.create_repo_tag(CreateRepoTagRequest(namespace=NS, repository="group$app",
                                           body=CreateRepoTagRequestBody(source_tag="v1", destination_tag="v3")))
    w.delete_repo_tag(DeleteRepoTagRequest(namespace=NS, repository="group$app", tag="v2"))
    r = w.show_repository(ShowRepositoryRequest(namespace=NS, repository="group$app"))
    assert (r.num_images, r.size) == (2, 2000)
    [listed] = w.list_repos_details(ListReposDetailsRequest(name="app")).body
    assert (listed.num_images, listed.size, listed.tags) == (2, 2000, ["v1", "v3"])
    # DeleteRepo takes its tags with it.
    w.delete_repo(DeleteRepoRequest(namespace=NS, repository="group$app"))
    expect_client_error(lambda: w.list_repository_tags(ListRepositoryTagsRequest(namespace=NS,
                                                                                 repository="group$app")),
                        404, "SVCSTG.SWR.4040010")
    expect_client_error(lambda: w.delete_repo(DeleteRepoRequest(namespace=NS, repository="group$app")),
                        404, "SVCSTG.SWR.4040010")
    expect_client_error(lambda: tenant2(own_server).delete_repo(DeleteRepoRequest(namespace=NS, repository=REPO)),
                        403, "SVCSTG.SWR.4030170")
    # Re-created, it starts empty.
    create_repo(w, "group/app")
    assert w.show_repository(ShowRepositoryRequest(namespace=NS, repository="group$app")).num_images == 0
