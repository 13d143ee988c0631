"""SWR reads and writes, and the admin API's push."""

import catalog


def test_promotes_a_tag(huaweicloud_env):
    assert catalog.promote("cn-north-4", "namespace", "busybox", "latest", "stable") == [
        "latest", "stable"]


def test_a_pushed_tag_is_listed(huaweicloud_env, ims_swr_mock):
    ims_swr_mock.push_tag("team", "group$app", "1.0", {"size": 52428800})
    assert catalog.promote("cn-north-4", "team", "group$app", "1.0", "prod") == ["1.0", "prod"]


def test_state_round_trips(ims_swr_mock, swr_client):
    from huaweicloudsdkswr.v2 import ListRepositoryTagsRequest

    state = ims_swr_mock.state()
    ims_swr_mock.push_tag("namespace", "busybox", "extra")
    ims_swr_mock.load_state(state)  # back to the saved data
    listed = swr_client.list_repository_tags(
        ListRepositoryTagsRequest(namespace="namespace", repository="busybox"))
    assert [t.tag for t in listed.body] == ["latest"]
