// Every operation the official Node SWR SDK (@huaweicloud/huaweicloud-sdk-swr 3.1.128, the
// only version on npm) offers for the routes ims-swr-mock emulates, with their parameters
// and error paths, as the Python suite does for the Python SDK. Run by
// sdk-tests/test_examples.py against a fresh `--auth strict` server on the default fixture:
//
//   npm ci
//   IMS_SWR_MOCK_URL=http://127.0.0.1:8080 node sdk_test.js
//
// The SDK offers ListRepositoryTags (v2), CreateRepoTag and DeleteRepoTag; it has neither
// the v3 list nor ShowRepoTag. Of the resource operations it offers ListNamespaces,
// ShowNamespace, CreateNamespace, DeleteNamespaces, ListReposDetails, ShowRepository,
// CreateRepo, UpdateRepo and DeleteRepo (not ListRepoDetails v3). Each check prints `ok - <name>`; the last line is `OK`; any
// failure exits non-zero. The core logs every error answer on stdout at ERROR level; that
// noise is expected.
"use strict";

const assert = require("node:assert/strict");
const { BasicCredentials } = require("@huaweicloud/huaweicloud-sdk-core");
const swr = require("@huaweicloud/huaweicloud-sdk-swr");

const endpoint = process.env.IMS_SWR_MOCK_URL || "http://127.0.0.1:8080";
const NS = "namespace";
const REPO = "busybox";

const client = swr.SwrClient.newBuilder()
  .withCredential(
    new BasicCredentials().withAk("AKTEST").withSk("SKTEST").withProjectId("fd73a4a14a4a4dfb9771a8475e5198ea")
  )
  .withEndpoint(endpoint)
  .withOptions({ customUserAgent: "ims-swr-mock-node-sdk-test" })
  .build();

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

function list({ ns = NS, repo = REPO, ...params } = {}) {
  let request = new swr.ListRepositoryTagsRequest().withNamespace(ns).withRepository(repo);
  if (params.offset !== undefined) request = request.withOffset(params.offset);
  if (params.limit !== undefined) request = request.withLimit(params.limit);
  if (params.orderColumn !== undefined) request = request.withOrderColumn(params.orderColumn);
  if (params.orderType !== undefined) request = request.withOrderType(params.orderType);
  if (params.tag !== undefined) request = request.withTag(params.tag);
  if (params.filter !== undefined) request = request.withFilter(params.filter);
  return client.listRepositoryTags(request);
}

function create(source, destination, override, { ns = NS, repo = REPO } = {}) {
  let body = new swr.CreateRepoTagRequestBody().withSourceTag(source).withDestinationTag(destination);
  if (override !== undefined) body = body.withOverride(override);
  return client.createRepoTag(new swr.CreateRepoTagRequest().withNamespace(ns).withRepository(repo).withBody(body));
}

function remove(tag, { ns = NS, repo = REPO } = {}) {
  return client.deleteRepoTag(new swr.DeleteRepoTagRequest().withNamespace(ns).withRepository(repo).withTag(tag));
}

async function expectError(promise, status, code) {
  try {
    await promise;
  } catch (error) {
    assert.equal(error.httpStatusCode, status, JSON.stringify(error));
    assert.equal(error.errorCode, code, JSON.stringify(error));
    assert.match(error.requestId || "", /^[0-9a-f]{32}$/);
    return error;
  }
  assert.fail(`expected ${status} ${code}`);
}

const names = (response) => response.map((t) => t.Tag);

// ListRepositoryTags (GET /v2/manage/namespaces/{namespace}/repos/{repository}/tags)
check("ListRepositoryTags without parameters answers the seed and Content-Range 0-1/1", async () => {
  const response = await list();
  assert.equal(response.httpStatusCode, 200);
  assert.deepEqual(names(response), ["latest"]);
  assert.equal(response["Content-Range"], "0-1/1");
  const t = response[0];
  for (const field of ["id", "repo_id", "image_id", "manifest", "digest", "schema", "path", "internal_path",
    "size", "is_trusted", "created", "updated", "deleted", "scanned", "tag_type", "domain_id"]) {
    assert.ok(field in t, field);
  }
});
check("ListRepositoryTags with offset, limit, order_column, order_type and tag", async () => {
  const response = await list({ offset: "0", limit: "1", orderColumn: "tag", orderType: "asc", tag: "LAT" });
  assert.deepEqual(names(response), ["latest"]);
  assert.equal(response["Content-Range"], "0-1/1");
});
check("ListRepositoryTags past the end is an empty page with the total", async () => {
  const response = await list({ offset: "5", limit: "10" });
  assert.equal(response["Content-Range"], "5-0/1");
});
check("ListRepositoryTags with the combined filter form", async () => {
  const response = await list({ filter: "offset::0|limit::10|order_column::updated_at|order_type::desc|tag::lat" });
  assert.deepEqual(names(response), ["latest"]);
});
check("ListRepositoryTags: limit without offset is 400 SVCSTG.SWR.4001072", () =>
  expectError(list({ limit: "10" }), 400, "SVCSTG.SWR.4001072"));
check("ListRepositoryTags: limit 0 is 400 SVCSTG.SWR.4000056", () =>
  expectError(list({ offset: "0", limit: "0" }), 400, "SVCSTG.SWR.4000056"));
check("ListRepositoryTags: a bad order_type is 400 SVCSTG.SWR.4000014", () =>
  expectError(list({ orderType: "up" }), 400, "SVCSTG.SWR.4000014"));
check("ListRepositoryTags: a malformed filter is 400 SVCSTG.SWR.4001035", () =>
  expectError(list({ filter: "size::5" }), 400, "SVCSTG.SWR.4001035"));
check("ListRepositoryTags: an invalid organization name is 400 SVCSTG.SWR.4001028", () =>
  expectError(list({ ns: "Bad_NS" }), 400, "SVCSTG.SWR.4001028"));
check("ListRepositoryTags: an unknown organization (repeated hyphens are valid) is 404 SVCSTG.SWR.4040058", () =>
  expectError(list({ ns: "no--such" }), 404, "SVCSTG.SWR.4040058"));
check("ListRepositoryTags: an unknown repository is 404 SVCSTG.SWR.4040010", () =>
  expectError(list({ repo: "nosuchrepo" }), 404, "SVCSTG.SWR.4040010"));
check("ListRepositoryTags: another tenant's organization is 403 SVCSTG.SWR.4030170", () =>
  expectError(list({ ns: "othernamespace", repo: "nginx" }), 403, "SVCSTG.SWR.4030170"));

// CreateRepoTag (POST …/tags)
check("CreateRepoTag copies the source and is visible in the list", async () => {
  const created = await create("latest", "node-copy", false);
  assert.equal(created.httpStatusCode, 201);
  const response = await list({ offset: "0", limit: "10", orderColumn: "tag", orderType: "asc" });
  assert.deepEqual(names(response), ["latest", "node-copy"]);
  assert.equal(response[1].image_id, response[0].image_id);
});
check("CreateRepoTag over an existing tag without override is 409 SVCSTG.SWR.4090006", () =>
  expectError(create("latest", "node-copy", false), 409, "SVCSTG.SWR.4090006"));
check("CreateRepoTag with override true replaces it (201)", async () => {
  assert.equal((await create("latest", "node-copy", true)).httpStatusCode, 201);
});
check("CreateRepoTag from a missing source is 404 SVCSTG.SWR.4040048", () =>
  expectError(create("no-such-tag", "x", false), 404, "SVCSTG.SWR.4040048"));
check("CreateRepoTag with an invalid destination is 400 SVCSTG.SWR.4009021", () =>
  expectError(create("latest", "-bad", false), 400, "SVCSTG.SWR.4009021"));
check("CreateRepoTag in an unknown repository is 404 SVCSTG.SWR.4040010", () =>
  expectError(create("latest", "x", false, { repo: "nosuchrepo" }), 404, "SVCSTG.SWR.4040010"));

// DeleteRepoTag (DELETE …/tags/{tag})
check("DeleteRepoTag is 204 and the tag leaves the list", async () => {
  assert.equal((await remove("node-copy")).httpStatusCode, 204);
  assert.deepEqual(names(await list()), ["latest"]);
});
check("DeleteRepoTag of a missing tag is 404 SVCSTG.SWR.4040048", () =>
  expectError(remove("node-copy"), 404, "SVCSTG.SWR.4040048"));
check("DeleteRepoTag with an invalid tag name is 400 SVCSTG.SWR.4009021", () =>
  expectError(remove("-bad"), 400, "SVCSTG.SWR.4009021"));
check("DeleteRepoTag in another tenant's organization is 403 SVCSTG.SWR.4030170", () =>
  expectError(remove("1.25", { ns: "othernamespace", repo: "nginx" }), 403, "SVCSTG.SWR.4030170"));

// A repository with a slash, passed with `$` (the Node SDK puts it in the path unencoded)
check("All three operations on group$app (a repository with a slash)", async () => {
  const pushed = await fetch(`${endpoint}/_mock/swr/namespaces/${NS}/repos/group$app/tags/v1`, { method: "PUT" });
  assert.equal(pushed.status, 201);
  const at = { repo: "group$app" };
  assert.deepEqual(names(await list(at)), ["v1"]);
  assert.equal((await create("v1", "v2", false, at)).httpStatusCode, 201);
  assert.equal((await remove("v1", at)).httpStatusCode, 204);
  assert.deepEqual(names(await list(at)), ["v2"]);
});

// Organizations and repositories (issue 18): every one the Node SDK offers (it has no
// ListRepoDetails v3).
const repoNames = (response) => response.map((r) => r.name);
function listRepos(params = {}) {
  let request = new swr.ListReposDetailsRequest();
  if (params.namespace !== undefined) request = request.withNamespace(params.namespace);
  if (params.name !== undefined) request = request.withName(params.name);
  if (params.offset !== undefined) request = request.withOffset(params.offset);
  if (params.limit !== undefined) request = request.withLimit(params.limit);
  return client.listReposDetails(request);
}
check("ListNamespaces answers the caller's organizations", async () => {
  const response = await client.listNamespaces(new swr.ListNamespacesRequest());
  assert.equal(response.httpStatusCode, 200);
  assert.deepEqual(response.namespaces.map((n) => [n.id, n.name, n.creator_name, n.auth]), [[1, NS, "admin", 7]]);
});
check("CreateNamespace is 201, ShowNamespace shows it, a taken name is 409 SVCSTG.SWR.4090006", async () => {
  const body = new swr.CreateNamespaceRequestBody().withNamespace("nodeorg");
  assert.equal((await client.createNamespace(new swr.CreateNamespaceRequest().withBody(body))).httpStatusCode, 201);
  const shown = await client.showNamespace(new swr.ShowNamespaceRequest().withNamespace("nodeorg"));
  assert.equal(shown.name, "nodeorg");
  assert.equal(shown.auth, 7);
  await expectError(client.createNamespace(new swr.CreateNamespaceRequest().withBody(body)), 409, "SVCSTG.SWR.4090006");
});
check("ShowNamespace of another tenant's organization is 403 SVCSTG.SWR.4030170", () =>
  expectError(client.showNamespace(new swr.ShowNamespaceRequest().withNamespace("othernamespace")), 403,
    "SVCSTG.SWR.4030170"));
check("CreateRepo, ShowRepository, UpdateRepo and ListReposDetails with Content-Range", async () => {
  const body = new swr.CreateRepoRequestBody().withRepository("app").withIsPublic(true).withCategory("linux")
    .withDescription("from node");
  const created = await client.createRepo(new swr.CreateRepoRequest().withNamespace("nodeorg").withBody(body));
  assert.equal(created.httpStatusCode, 201);
  const shown = await client.showRepository(new swr.ShowRepositoryRequest().withNamespace("nodeorg").withRepository("app"));
  assert.deepEqual([shown.name, shown.category, shown.description, shown.is_public, shown.num_images],
    ["app", "linux", "from node", true, 0]);
  const update = new swr.UpdateRepoRequestBody().withIsPublic(false).withDescription("changed");
  const updated = await client.updateRepo(new swr.UpdateRepoRequest().withNamespace("nodeorg").withRepository("app")
    .withBody(update));
  assert.equal(updated.httpStatusCode, 201);
  const listed = await listRepos({ namespace: "nodeorg", offset: "0", limit: "10" });
  assert.deepEqual(repoNames(listed), ["app"]);
  assert.equal(listed["Content-Range"], "0-1/1");
  assert.equal(listed[0].description, "changed");
  assert.equal(listed[0].is_public, false);
});
check("ListReposDetails: limit without offset is 400 SVCSTG.SWR.4001072", () =>
  expectError(listRepos({ limit: "10" }), 400, "SVCSTG.SWR.4001072"));
check("DeleteNamespaces while it holds a repository is 406 SVCSTG.SWR.4060012", () =>
  expectError(client.deleteNamespaces(new swr.DeleteNamespacesRequest().withNamespace("nodeorg")), 406,
    "SVCSTG.SWR.4060012"));
check("DeleteRepo then DeleteNamespaces are 204; the organization is gone (404 SVCSTG.SWR.4040058)", async () => {
  const repo = new swr.DeleteRepoRequest().withNamespace("nodeorg").withRepository("app");
  assert.equal((await client.deleteRepo(repo)).httpStatusCode, 204);
  await expectError(client.deleteRepo(repo), 404, "SVCSTG.SWR.4040010");
  const ns = new swr.DeleteNamespacesRequest().withNamespace("nodeorg");
  assert.equal((await client.deleteNamespaces(ns)).httpStatusCode, 204);
  await expectError(client.showNamespace(new swr.ShowNamespaceRequest().withNamespace("nodeorg")), 404,
    "SVCSTG.SWR.4040058");
});

async function main() {
  console.log(`ims-swr-mock at ${endpoint}`);
  for (const { name, fn } of checks) {
    try {
      await fn();
    } catch (error) {
      console.log(`not ok - ${name}`);
      throw error;
    }
    console.log(`ok - ${name}`);
  }
  console.log(`${checks.length} checks`);
  console.log("OK");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
