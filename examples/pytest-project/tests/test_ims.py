"""IMS reads and writes through the application's region-built clients."""

import catalog

IMAGE = "67e17426-359e-49fb-aa12-0bd1756ec240"  # seed-image-1 of the default fixture


def test_lists_the_seed_tag_keys(huaweicloud_env):
    assert catalog.tag_keys("cn-north-4") == ["key9", "key8", "key3"]


def test_labels_an_image_and_reads_it_back(huaweicloud_env, ims_swr_mock):
    tags = catalog.label_image("cn-north-4", IMAGE, "team", "payments")
    assert tags["team"] == "payments"
    assert "team" in catalog.tag_keys("cn-north-4")


def test_each_test_starts_from_the_fixture(huaweicloud_env):
    # The previous test's tag is gone: the plugin reset the server after it.
    assert "team" not in catalog.tag_keys("cn-north-4")


def test_the_ready_client_fixture(ims_client):
    from huaweicloudsdkims.v2 import ListImageTagsRequest

    tags = ims_client.list_image_tags(ListImageTagsRequest(image_id=IMAGE)).tags
    assert {t.key: t.value for t in tags} == {"key9": "value9", "key8": ""}
