// The official Huawei Cloud Node.js SWR SDK against ims-swr-mock, signing with AK/SK.
//
//   npm ci
//   IMS_SWR_MOCK_URL=http://127.0.0.1:8080 node example.js
//
// Works in every auth mode of the server, `--auth strict` included (AKTEST/SKTEST are
// credentials of the embedded default fixture). Exits non-zero on any unexpected answer.
//
// What is special about the Node SDK (read from node_modules, versions in package.json):
// - npm has only @huaweicloud/huaweicloud-sdk-swr 3.1.128. It has ListRepositoryTags (v2),
//   CreateRepoTag and DeleteRepoTag, but neither the v3 list (ListRepositoryTag) nor
//   ShowRepoTag; use the Python SDK, or plain HTTP, for those.
// - @huaweicloud/huaweicloud-sdk-core 3.1.211 does `require("uuid")` (for the default
//   User-Agent) without declaring the dependency, so package.json adds `uuid` itself
//   (11.x: the last line that ships a CommonJS build).
// - Plain http:// endpoints need nothing special: the core hands the endpoint to axios
//   as its baseURL (with `proxy: false`, so HTTP(S)_PROXY is ignored).
// - The v2 list answers a bare JSON array. The Node core returns that array itself as the
//   response (not a `body` field, unlike Python's `resp.body`) and hangs the extra fields
//   on it: `resp.httpStatusCode` and `resp["Content-Range"]`.
// - The signer signs content-type, host, x-project-id and x-sdk-date, not the User-Agent
//   (added after signing), and encodes the raw path segments. ims-swr-mock accepts that.
// - The core logs every error answer to stdout at ERROR level (log4js, configured when the
//   core loads), dumping the axios request config with its headers.
// - Path parameters are put into the URL unencoded: pass a repository `group/app` as
//   `group$app`, and keep tag names to what SWR allows (letters, digits, `._-`).
"use strict";

const assert = require("node:assert/strict");
const { BasicCredentials } = require("@huaweicloud/huaweicloud-sdk-core");
const swr = require("@huaweicloud/huaweicloud-sdk-swr");

const endpoint = process.env.IMS_SWR_MOCK_URL || "http://127.0.0.1:8080";
const NAMESPACE = "namespace";
const REPOSITORY = "busybox";
const NEW_TAG = "node-example";

const credentials = new BasicCredentials()
  .withAk("AKTEST")
  .withSk("SKTEST")
  .withProjectId("fd73a4a14a4a4dfb9771a8475e5198ea");

const client = swr.SwrClient.newBuilder()
  .withCredential(credentials)
  .withEndpoint(endpoint)
  // A fixed User-Agent: without it the core builds one from the OS, Node version and an
  // application id it writes to ~/.huaweicloud/application_id.
  .withOptions({ customUserAgent: "ims-swr-mock-node-example" })
  .build();

async function listTags() {
  const request = new swr.ListRepositoryTagsRequest()
    .withNamespace(NAMESPACE)
    .withRepository(REPOSITORY)
    .withLimit("100")
    .withOffset("0");
  const response = await client.listRepositoryTags(request);
  assert.equal(response.httpStatusCode, 200);
  assert.ok(Array.isArray(response), "the v2 list is the bare array itself");
  const names = response.map((t) => t.Tag); // v2 spells it `Tag`, capital T
  console.log(`ListRepositoryTags: ${JSON.stringify(names)}, Content-Range ${response["Content-Range"]}`);
  return { names, contentRange: response["Content-Range"], tags: response };
}

async function main() {
  console.log(`ims-swr-mock at ${endpoint}`);

  // 1. The seed: one tag, busybox:latest.
  const seed = await listTags();
  assert.deepEqual(seed.names, ["latest"]);
  assert.equal(seed.contentRange, "0-1/1");
  assert.equal(seed.tags[0].digest.slice(0, 7), "sha256:");

  // 2. CreateRepoTag: point a new tag at latest's image (201).
  const body = new swr.CreateRepoTagRequestBody()
    .withSourceTag("latest")
    .withDestinationTag(NEW_TAG)
    .withOverride(false);
  const created = await client.createRepoTag(
    new swr.CreateRepoTagRequest().withNamespace(NAMESPACE).withRepository(REPOSITORY).withBody(body)
  );
  assert.equal(created.httpStatusCode, 201);
  console.log(`CreateRepoTag latest -> ${NEW_TAG}: ${created.httpStatusCode}`);

  const afterCreate = await listTags();
  assert.deepEqual([...afterCreate.names].sort(), ["latest", NEW_TAG]);
  assert.equal(afterCreate.contentRange, "0-2/2");
  const copy = afterCreate.tags.find((t) => t.Tag === NEW_TAG);
  assert.equal(copy.image_id, seed.tags[0].image_id);

  // 3. DeleteRepoTag (204), then the list is back to the seed.
  const deleted = await client.deleteRepoTag(
    new swr.DeleteRepoTagRequest().withNamespace(NAMESPACE).withRepository(REPOSITORY).withTag(NEW_TAG)
  );
  assert.equal(deleted.httpStatusCode, 204);
  console.log(`DeleteRepoTag ${NEW_TAG}: ${deleted.httpStatusCode}`);

  const afterDelete = await listTags();
  assert.deepEqual(afterDelete.names, ["latest"]);
  assert.equal(afterDelete.contentRange, "0-1/1");

  // 4. Errors arrive as ClientRequestException with the service's code and a request id.
  //    (The core also logs every error answer on stdout at ERROR level, with the request
  //    headers: the Authorization signature, never the SK. That dump is expected here.)
  console.log(`DeleteRepoTag ${NEW_TAG} again, expecting a 404:`);
  try {
    await client.deleteRepoTag(
      new swr.DeleteRepoTagRequest().withNamespace(NAMESPACE).withRepository(REPOSITORY).withTag(NEW_TAG)
    );
    assert.fail("deleting a deleted tag should fail");
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    assert.equal(error.httpStatusCode, 404);
    assert.equal(error.errorCode, "SVCSTG.SWR.4040048");
    assert.match(error.requestId || "", /^[0-9a-f]{32}$/);
    console.log(`DeleteRepoTag ${NEW_TAG} again: ${error.httpStatusCode} ${error.errorCode} (${error.errorMsg})`);
  }

  console.log("OK");
}

main().catch((error) => {
  console.error("FAILED:", error);
  process.exitCode = 1;
});
